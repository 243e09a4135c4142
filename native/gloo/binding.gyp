{
  "targets": [
    {
      "target_name": "neurite_gloo",
      "sources": [ "gloo.cc" ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "/usr/include/hiredis"
      ],
      "defines": [
        "NAPI_VERSION=8",
        "NAPI_CPP_EXCEPTIONS",
        "NODE_ADDON_API_DISABLE_DEPRECATED"
      ],
      "cflags!": [ "-fno-exceptions" ],
      "cflags_cc!": [ "-fno-exceptions", "-fno-rtti" ],
      "cflags_cc": [ "-O2", "-std=c++17", "-fexceptions", "-fvisibility=hidden" ],
      "libraries": [ "-lgloo", "-lhiredis" ],
      "ldflags": [ "-pthread" ]
    }
  ]
}
