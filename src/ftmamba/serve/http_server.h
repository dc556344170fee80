// defines: HttpServer, `ftmamba serve`'s HTTP/JSON server over a loaded run (cpp-httplib): POST /recommend,
// /recommend/batch, /similar_items, /items; DELETE /items/{id}; GET /healthz, /metrics, /info, /users/{id}, / (the
// page); POST /admin/reload with a bearer token. docs/SERVING.md describes each with examples.
#pragma once
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>

#include "ftmamba/core/log.h"
#include "ftmamba/serve/catalog_journal.h"
#include "ftmamba/serve/request_json.h"
#include "ftmamba/serve/serving_metrics.h"
#include "ftmamba/serve/serving_state.h"

namespace ftmamba::serve {

struct ServerOptions {
  ServingSource source;
  std::string host = "127.0.0.1";
  int port = 0;                   // 0: a free port, chosen when binding
  int threads = 64;               // workers: each serves one connection at a time, for as long as it is kept alive
  int keep_alive_requests = 100;  // requests a connection may make before the server closes it (clients take turns)
  std::string admin_token;        // empty: POST /admin/reload is not served (404)
  // The catalog log (catalog_log.h): changes from POST /items and DELETE /items outlive the process, replayed at
  // the next start. Empty: they live in memory (and across reloads) only.
  std::filesystem::path catalog_log;
  RequestLimits limits;
};

// Requests run concurrently on the worker threads against the current ServingState, a shared_ptr read under a
// mutex: reload() loads a new state beside the old one and swaps it in, so requests in flight finish on the state
// they began with, and none fails. Item updates take the catalog's writer lock (Recommender). A bad request is
// answered 400 (413 for a body over the limit) with {"error", "field"}; only a fault of the server itself is a 500,
// logged.
class HttpServer {
 public:
  // Loads the run (Error as Recommender::load throws them). `log` gets one line per reload and per 500.
  explicit HttpServer(ServerOptions options, Log log = {});
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds host:port (port 0: a free one) and returns the port; Error when it cannot. Connections wait in the
  // listen queue until listen() runs.
  int bind();
  // Answers requests until stop(); returns then.
  void listen();
  // Stops listen() (from any thread); requests in flight are finished.
  void stop();

  // Loads the run again into a new state and swaps it in. Throws Error (the old state stays) when it cannot.
  void reload();
  std::shared_ptr<const ServingState> state() const;
  const ServingMetrics& metrics() const { return metrics_; }

 private:
  void install_routes();

  ServerOptions options_;
  Log log_;
  ServingMetrics metrics_;
  mutable std::mutex state_mutex_;  // guards state_ (the pointer, not what it points to)
  std::shared_ptr<const ServingState> state_;
  std::mutex reload_mutex_;  // one reload at a time
  CatalogJournal journal_;   // the catalog changes since the start, replayed by each reload
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ftmamba::serve
