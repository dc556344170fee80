// defines: serve_until_stopped: the server on this thread, the signals routed to a thread of their own (a reload
// takes seconds; the signal watcher must stay free for the next signal).
#include "ftmamba/serve/serve_until_stopped.h"

#include <signal.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "ftmamba/core/error.h"
#include "ftmamba/core/interrupt.h"

namespace ftmamba::serve {

void serve_until_stopped(const ServerOptions& options, const std::function<void(const std::string& url)>& on_listening,
                         const Log& log) {
  HttpServer server(options, log);
  const int port = server.bind();

  std::mutex mutex;
  std::condition_variable wake;
  int reloads_asked = 0;
  bool stopping = false;
  std::atomic<bool> stop_asked{false};
  // Reloads asked by SIGHUP, one after another; several signals during one reload make one more.
  std::thread reloader([&] {
    std::unique_lock lock(mutex);
    for (;;) {
      wake.wait(lock, [&] { return stopping || reloads_asked > 0; });
      if (stopping) return;
      reloads_asked = 0;
      lock.unlock();
      try {
        server.reload();
      } catch (const Error& e) {
        if (log) log(std::string("serve: reload failed, still serving the previous model: ") + e.what());
      }
      lock.lock();
    }
  });
  const RouteSignalsTo route([&](int signal) {
    if (signal == SIGHUP) {
      std::lock_guard lock(mutex);
      ++reloads_asked;
      wake.notify_one();
      return;
    }
    if (log) log("serve: signal " + std::to_string(signal) + ", stopping");
    stop_asked = true;
    server.stop();
  });
  const std::string host = options.host.find(':') != std::string::npos ? "[" + options.host + "]" : options.host;
  on_listening("http://" + host + ":" + std::to_string(port) + "/");
  if (!stop_asked) server.listen();
  {
    std::lock_guard lock(mutex);
    stopping = true;
    wake.notify_one();
  }
  reloader.join();
}

}  // namespace ftmamba::serve
