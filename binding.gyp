{
  "targets": [
    {
      "target_name": "neurite_native",
      "sources": [
        "native/addon.cc",
        "native/threadpool.cc",
        "native/gemm.cc",
        "native/ops.cc",
        "native/conv.cc",
        "native/conv_direct.cc",
        "native/broadcast.cc"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")"
      ],
      "defines": [
        "NAPI_VERSION=8",
        "NAPI_CPP_EXCEPTIONS",
        "NODE_ADDON_API_DISABLE_DEPRECATED"
      ],
      "cflags!": [ "-fno-exceptions" ],
      "cflags_cc!": [ "-fno-exceptions", "-fno-rtti" ],
      "cflags": [ "-O3", "-fno-math-errno", "-ffp-contract=off", "-fvisibility=hidden" ],
      "cflags_cc": [ "-O3", "-fno-math-errno", "-ffp-contract=off", "-fvisibility=hidden", "-fexceptions" ],
      "ldflags": [ "-pthread" ],
      "xcode_settings": {
        "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
        "GCC_ENABLE_CPP_RTTI": "YES",
        "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
        "OTHER_CPLUSPLUSFLAGS": [ "-O3", "-fno-math-errno", "-ffp-contract=off" ]
      },
      "msvs_settings": {
        "VCCLCompilerTool": { "ExceptionHandling": 1, "AdditionalOptions": [ "/O2" ] }
      }
    }
  ]
}
