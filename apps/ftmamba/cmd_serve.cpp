// defines: `ftmamba serve`, the HTTP/JSON recommendation server over a trained run (docs/SERVING.md).
#include <fmt/format.h>

#include <cstdio>
#include <filesystem>

#include "cli_checks.h"
#include "cli_device.h"
#include "commands.h"
#include "ftmamba/core/error.h"
#include "ftmamba/serve/catalog_log.h"
#include "ftmamba/serve/serve_until_stopped.h"
#include "ftmamba/serve/serving_index.h"

namespace ftmamba::cli {

namespace {
namespace fs = std::filesystem;
// Bounds of the limits a server may be given: wide enough for any use, narrow enough that a typo cannot ask one
// request to allocate without bound.
constexpr int64_t kMostK = 100000, kMostBatch = 100000, kMostBodyBytes = int64_t{1} << 30, kMostWorkers = 1024,
                  kMostKeepAlive = 1000000;
}  // namespace

void add_serve_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("serve", "Serve recommendations over HTTP/JSON (docs/SERVING.md)");
  struct Args {
    std::string run, data, host = "127.0.0.1", device = "auto", admin_token, index = "auto", catalog_log;
    int64_t port = 8080, threads = 64, keep_alive_requests = 100, new_user_batch = serve::Recommender::kNewUserBatch,
            max_k = 1000, max_batch = 1000, max_body_bytes = 1024 * 1024;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("--run", args->run, "Run folder")->required();
  cmd->add_option("--data", args->data,
                  "Dataset folder (default: the users and items stored in the run, or the dataset it was trained on)");
  check_int_range(cmd->add_option("--port", args->port, "TCP port, 0 = any free one")->capture_default_str(), 0, 65535);
  cmd->add_option("--host", args->host, "Address to listen on")->capture_default_str();
  check_int_range(
      cmd->add_option("--threads", args->threads,
                      "Worker threads; each serves one connection at a time, so give at least as many as the "
                      "clients keep open")
          ->capture_default_str(),
      1, kMostWorkers);
  check_int_range(cmd->add_option("--keep-alive-requests", args->keep_alive_requests,
                                  "Requests a connection may make before the server closes it (so that more clients "
                                  "than threads take turns)")
                      ->capture_default_str(),
                  1, kMostKeepAlive);
  check_int_range(cmd->add_option("--new-user-batch", args->new_user_batch,
                                  "Most new users (cold start) of concurrent requests encoded in one forward of the "
                                  "user tower; 1 = each alone")
                      ->capture_default_str(),
                  1, kMostBatch);
  add_device_option(cmd, args->device);
  check_choice(
      cmd->add_option("--index", args->index,
                      "Item search: auto = the run's index (ftmamba index) when it has one, else exact; exact = every "
                      "item scored; index = the run's index, an error without one")
          ->capture_default_str(),
      enum_names<serve::ServingIndex>());
  cmd->add_option("--admin-token", args->admin_token,
                  "Serve POST /admin/reload to requests with 'Authorization: Bearer TOKEN' (default: not served)");
  cmd->add_option("--catalog-log", args->catalog_log,
                  std::string("File that keeps the catalog's changes (POST /items, DELETE /items) across restarts, "
                              "replayed at start; 'none' = in memory only (default: RUN/") +
                      serve::kCatalogLogFile + ")");
  check_int_range(cmd->add_option("--max-k", args->max_k, "Most items a request may ask for")->capture_default_str(), 1,
                  kMostK);
  check_int_range(cmd->add_option("--max-batch", args->max_batch, "Most requests of a batch, items of an update")
                      ->capture_default_str(),
                  1, kMostBatch);
  check_int_range(
      cmd->add_option("--max-body-bytes", args->max_body_bytes, "Largest request body")->capture_default_str(), 64,
      kMostBodyBytes);
  cmd->callback([args] {
    serve::ServerOptions options;
    options.source.run_dir = args->run;
    options.source.data_dir = args->data;
    options.source.device = choose_device(args->device);
    options.source.new_user_batch = args->new_user_batch;
    options.source.make_search = serve::serving_index_search(args->run, parse_enum<serve::ServingIndex>(args->index));
    options.host = args->host;
    options.port = static_cast<int>(args->port);
    options.threads = static_cast<int>(args->threads);
    options.keep_alive_requests = static_cast<int>(args->keep_alive_requests);
    options.admin_token = args->admin_token;
    if (args->catalog_log != "none")
      options.catalog_log =
          args->catalog_log.empty() ? fs::path(args->run) / serve::kCatalogLogFile : fs::path(args->catalog_log);
    options.limits.max_k = args->max_k;
    options.limits.max_batch = args->max_batch;
    options.limits.max_body_bytes = args->max_body_bytes;
    serve::serve_until_stopped(
        options,
        [](const std::string& url) {
          fmt::print("serving on {}\n", url);
          std::fflush(stdout);
        },
        log_to_stderr);
  });
}

}  // namespace ftmamba::cli
