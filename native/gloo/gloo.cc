// The synchronous collectives of `neurite launch --mode sync` across
// processes and machines: a thin Node-API binding of Gloo (Debian's
// libgloo-dev), the collective library under PyTorch's CPU data-parallel
// training. Rendezvous goes through Gloo's own RedisStore on the job's Redis;
// the data moves over Gloo's TCP transport, rank to rank.
//
// Every call blocks the calling thread until the collective finishes or
// fails (a peer closed its connection, or the timeout passed): that is what
// lets fit() run the all-reduce inside a (compiled) training step. Gloo's
// errors become JavaScript exceptions with its message.
//
// allReduceStart() is the exception: it queues a sum for this group's own
// communication thread and returns at once, so that data-parallel training
// sends one bucket of gradients while backward computes the next; wait()
// blocks until the queue is empty and throws the first failure. The thread
// runs the queue in order, and every blocking call first waits for it, so the
// collectives reach Gloo in the order they were called on every rank.
#include <napi.h>

#include <gloo/allreduce.h>
#include <gloo/barrier.h>
#include <gloo/broadcast.h>
#include <gloo/math.h>
#include <gloo/rendezvous/context.h>
#include <gloo/rendezvous/prefix_store.h>
#include <gloo/rendezvous/redis_store.h>
#include <gloo/transport/tcp/device.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

class Group : public Napi::ObjectWrap<Group> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "GlooGroup",
                       {
                           InstanceMethod("allReduce", &Group::AllReduce),
                           InstanceMethod("allReduceStart", &Group::AllReduceStart),
                           InstanceMethod("wait", &Group::Wait),
                           InstanceMethod("broadcast", &Group::Broadcast),
                           InstanceMethod("barrier", &Group::Barrier),
                           InstanceMethod("close", &Group::Close),
                       });
  }

  // new GlooGroup({rank, size, redisHost, redisPort, prefix, hostname, timeoutMs})
  explicit Group(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Group>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsObject()) throw Napi::TypeError::New(env, "GlooGroup: expected an options object");
    Napi::Object o = info[0].As<Napi::Object>();
    const int rank = o.Get("rank").As<Napi::Number>().Int32Value();
    const int size = o.Get("size").As<Napi::Number>().Int32Value();
    const std::string host = o.Get("redisHost").As<Napi::String>().Utf8Value();
    const int port = o.Get("redisPort").As<Napi::Number>().Int32Value();
    const std::string prefix = o.Get("prefix").As<Napi::String>().Utf8Value();
    const std::string hostname = o.Get("hostname").As<Napi::String>().Utf8Value();
    timeout_ = std::chrono::milliseconds(o.Get("timeoutMs").As<Napi::Number>().Int64Value());
    try {
      gloo::transport::tcp::attr attr;
      attr.hostname = hostname;
      auto device = gloo::transport::tcp::CreateDevice(attr);
      gloo::rendezvous::RedisStore redis(host, port);
      gloo::rendezvous::PrefixStore store(prefix, redis);
      auto context = std::make_shared<gloo::rendezvous::Context>(rank, size);
      context->setTimeout(timeout_);
      context->connectFullMesh(store, device);
      context_ = context;
    } catch (const std::exception& e) {
      throw Napi::Error::New(env, std::string("Gloo rendezvous failed: ") + e.what());
    }
  }

  ~Group() override { StopThread(); }

 private:
  std::shared_ptr<gloo::Context> context_;
  std::chrono::milliseconds timeout_{30000};
  uint32_t tag_ = 0;

  // The communication thread and its queue (allReduceStart); the arrays in
  // flight stay referenced, on the JavaScript thread, until wait() returns.
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable queued_;
  std::condition_variable drained_;
  std::deque<std::function<void()>> queue_;
  bool running_ = false;
  bool stopping_ = false;
  std::string failure_;
  std::vector<Napi::ObjectReference> inFlight_;

  void Check(Napi::Env env) {
    if (!context_) throw Napi::Error::New(env, "GlooGroup: the group is closed");
  }

  // Run the next queued sum on this thread (the lock held on entry and on return). One sum runs at a time, whichever
  // thread runs it, so they reach Gloo in the order they were started.
  void RunNext(std::unique_lock<std::mutex>& lock) {
    std::function<void()> job = std::move(queue_.front());
    queue_.pop_front();
    running_ = true;
    // After a failure the rest of the queue is skipped: the ranks no longer agree on what comes next.
    const bool skip = !failure_.empty();
    lock.unlock();
    std::string error;
    if (!skip) {
      try {
        job();
      } catch (const std::exception& e) {
        error = e.what();
      }
    }
    lock.lock();
    running_ = false;
    if (!error.empty() && failure_.empty()) failure_ = error;
    drained_.notify_all();
    queued_.notify_all();
  }

  void Loop() {
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      queued_.wait(lock, [this] { return (stopping_ && queue_.empty()) || (!queue_.empty() && !running_); });
      if (queue_.empty()) return;
      RunNext(lock);
    }
  }

  // Block until the queue is empty; release the arrays; the first failure, or "". A sum the communication thread
  // has not picked up yet runs here: waiting for that thread to be scheduled costs more than it saves when every
  // core is busy (2 workers on 2 cores), and backward is over by now anyway.
  std::string Drain() {
    std::string failure;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      for (;;) {
        if (!running_ && !queue_.empty()) {
          RunNext(lock);
          continue;
        }
        if (!running_) break;
        drained_.wait(lock, [this] { return !running_; });
      }
      failure.swap(failure_);
    }
    for (auto& ref : inFlight_) ref.Reset();
    inFlight_.clear();
    return failure;
  }

  // The first failure of a started sum is what the caller hears about, whichever call waits for it.
  void WaitPending(Napi::Env env) {
    const std::string failure = Drain();
    if (!failure.empty()) throw Napi::Error::New(env, "allReduce (started earlier): " + failure);
  }

  void StopThread() {
    if (!thread_.joinable()) return;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    queued_.notify_all();
    thread_.join();
  }

  // allReduceStart(Float32Array | Float64Array): queue the sum over the ranks,
  // in place; the array must not be touched until wait() returns.
  Napi::Value AllReduceStart(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Check(env);
    if (info.Length() < 1 || !info[0].IsTypedArray()) throw Napi::TypeError::New(env, "allReduceStart: expected a Float32Array or Float64Array");
    Napi::TypedArray array = info[0].As<Napi::TypedArray>();
    const size_t n = array.ElementLength();
    if (n == 0) return env.Undefined();
    std::shared_ptr<gloo::Context> context = context_;
    const uint32_t tag = tag_++;
    const std::chrono::milliseconds timeout = timeout_;
    std::function<void()> job;
    if (array.TypedArrayType() == napi_float32_array) {
      float* data = array.As<Napi::Float32Array>().Data();
      job = [context, tag, timeout, data, n] {
        gloo::AllreduceOptions opts(context);
        opts.setTag(tag);
        opts.setTimeout(timeout);
        opts.setOutput(data, n);
        opts.setReduceFunction(static_cast<void (*)(void*, const void*, const void*, size_t)>(&gloo::sum<float>));
        gloo::allreduce(opts);
      };
    } else if (array.TypedArrayType() == napi_float64_array) {
      double* data = array.As<Napi::Float64Array>().Data();
      job = [context, tag, timeout, data, n] {
        gloo::AllreduceOptions opts(context);
        opts.setTag(tag);
        opts.setTimeout(timeout);
        opts.setOutput(data, n);
        opts.setReduceFunction(static_cast<void (*)(void*, const void*, const void*, size_t)>(&gloo::sum<double>));
        gloo::allreduce(opts);
      };
    } else {
      throw Napi::TypeError::New(env, "allReduceStart: expected a Float32Array or Float64Array");
    }
    inFlight_.push_back(Napi::Persistent(array.As<Napi::Object>()));
    if (!thread_.joinable()) thread_ = std::thread([this] { Loop(); });
    {
      std::lock_guard<std::mutex> lock(mutex_);
      queue_.push_back(std::move(job));
    }
    queued_.notify_one();
    return env.Undefined();
  }

  // wait(): block until every allReduceStart so far has finished; throw the first failure.
  Napi::Value Wait(const Napi::CallbackInfo& info) {
    WaitPending(info.Env());
    return info.Env().Undefined();
  }

  // allReduce(Float32Array | Float64Array): the sum over the ranks, in place.
  // Gloo's ring reduces each segment once and hands it around, so every rank
  // gets the same bits.
  Napi::Value AllReduce(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Check(env);
    WaitPending(env);
    if (info.Length() < 1 || !info[0].IsTypedArray()) throw Napi::TypeError::New(env, "allReduce: expected a Float32Array or Float64Array");
    Napi::TypedArray array = info[0].As<Napi::TypedArray>();
    if (array.ElementLength() == 0) return env.Undefined();
    try {
      gloo::AllreduceOptions opts(context_);
      opts.setTag(tag_++);
      opts.setTimeout(timeout_);
      if (array.TypedArrayType() == napi_float32_array) {
        float* data = array.As<Napi::Float32Array>().Data();
        opts.setOutput(data, array.ElementLength());
        opts.setReduceFunction(static_cast<void (*)(void*, const void*, const void*, size_t)>(&gloo::sum<float>));
      } else if (array.TypedArrayType() == napi_float64_array) {
        double* data = array.As<Napi::Float64Array>().Data();
        opts.setOutput(data, array.ElementLength());
        opts.setReduceFunction(static_cast<void (*)(void*, const void*, const void*, size_t)>(&gloo::sum<double>));
      } else {
        throw Napi::TypeError::New(env, "allReduce: expected a Float32Array or Float64Array");
      }
      gloo::allreduce(opts);
    } catch (const Napi::Error&) {
      throw;
    } catch (const std::exception& e) {
      throw Napi::Error::New(env, std::string("allReduce: ") + e.what());
    }
    return env.Undefined();
  }

  // broadcast(Float32Array | Float64Array, root): root's values on every rank.
  Napi::Value Broadcast(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Check(env);
    WaitPending(env);
    if (info.Length() < 2 || !info[0].IsTypedArray()) throw Napi::TypeError::New(env, "broadcast: expected (typed array, root)");
    Napi::TypedArray array = info[0].As<Napi::TypedArray>();
    const int root = info[1].As<Napi::Number>().Int32Value();
    if (array.ElementLength() == 0) return env.Undefined();
    try {
      gloo::BroadcastOptions opts(context_);
      opts.setTag(tag_++);
      opts.setTimeout(timeout_);
      opts.setRoot(root);
      if (array.TypedArrayType() == napi_float32_array) {
        opts.setOutput(array.As<Napi::Float32Array>().Data(), array.ElementLength());
      } else if (array.TypedArrayType() == napi_float64_array) {
        opts.setOutput(array.As<Napi::Float64Array>().Data(), array.ElementLength());
      } else {
        throw Napi::TypeError::New(env, "broadcast: expected a Float32Array or Float64Array");
      }
      gloo::broadcast(opts);
    } catch (const Napi::Error&) {
      throw;
    } catch (const std::exception& e) {
      throw Napi::Error::New(env, std::string("broadcast: ") + e.what());
    }
    return env.Undefined();
  }

  Napi::Value Barrier(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Check(env);
    WaitPending(env);
    try {
      gloo::BarrierOptions opts(context_);
      opts.setTag(tag_++);
      opts.setTimeout(timeout_);
      gloo::barrier(opts);
    } catch (const std::exception& e) {
      throw Napi::Error::New(env, std::string("barrier: ") + e.what());
    }
    return env.Undefined();
  }

  // Drop the connections (the peers' next collective fails at once instead of after the timeout).
  Napi::Value Close(const Napi::CallbackInfo& info) {
    // Whatever is queued finishes or fails first (its peers' timeout bounds that).
    Drain();
    StopThread();
    context_.reset();
    return info.Env().Undefined();
  }
};

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("GlooGroup", Group::Define(env));
  return exports;
}

}  // namespace

NODE_API_MODULE(neurite_gloo, Init)
