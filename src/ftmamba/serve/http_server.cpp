// defines: HttpServer: the routes, the one wrapper every handler runs in (state snapshot, error mapping, metrics),
// and the state swap of reload.
#include "ftmamba/serve/http_server.h"

#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <chrono>
#include <exception>
#include <filesystem>
#include <functional>
#include <utility>

#include "ftmamba/core/error.h"
#include "ftmamba/serve/response_json.h"
#include "ftmamba/serve/web_page.h"

namespace ftmamba::serve {
namespace {

using Json = nlohmann::ordered_json;  // the fields in the order written
using Clock = std::chrono::steady_clock;

constexpr const char* kJson = "application/json";
constexpr size_t kUserSample = 200;    // user ids GET /info lists for the page
constexpr size_t kHistoryShown = 200;  // items GET /users/{id} lists

void send_json(httplib::Response& res, int status, const Json& body) {
  res.status = status;
  res.set_content(dump_body(body), kJson);
}

// cpp-httplib 0.11 listens with a backlog of 5 connections. When 64 clients connect at once the accept queue
// overflows: the kernel drops the handshake's last ACK, the client believes itself connected and sends its request,
// and the request waits for the SYN-ACK retry, 1 s and then 3 s later (wrk at 64 connections: p99 2.8 s). Listening
// again on the same socket raises the backlog (Linux takes a second listen() as a new backlog). The socket is the
// process's listening one bound to `port`. Returns whether it was found.
bool widen_listen_backlog(int port) {
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd", error)) {
    int fd = -1;
    try {
      fd = std::stoi(entry.path().filename().string());
    } catch (const std::exception&) {
      continue;
    }
    int listening = 0;
    socklen_t size = sizeof(listening);
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &size) != 0 || listening == 0) continue;
    sockaddr_storage address{};
    socklen_t length = sizeof(address);
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) continue;
    int bound = -1;
    if (address.ss_family == AF_INET) bound = ntohs(reinterpret_cast<const sockaddr_in&>(address).sin_port);
    if (address.ss_family == AF_INET6) bound = ntohs(reinterpret_cast<const sockaddr_in6&>(address).sin6_port);
    if (bound == port) return ::listen(fd, SOMAXCONN) == 0;
  }
  return false;
}

// The answer to a request naming a user the data lacks and giving no features; `field` is where the id was.
RequestError unknown_user(const std::string& field, const std::string& user_id) {
  return RequestError(field, "unknown user '" + user_id + "'; give a new user's \"features\" instead");
}

// A body already written as JSON text (the item lists: response_json.h).
void send_text(httplib::Response& res, std::string body) {
  res.status = 200;
  res.body = std::move(body);  // set_content would copy it
  res.set_header("Content-Type", kJson);
}

// Compares without stopping at the first difference, so that the time taken tells nothing of the token.
bool same_token(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

std::vector<std::pair<std::string, FeatureValues>> as_pairs(std::vector<ItemUpdate> items) {
  std::vector<std::pair<std::string, FeatureValues>> out;
  for (auto& it : items) out.emplace_back(std::move(it.item_id), std::move(it.features));
  return out;
}

// The metrics' endpoint label of a request no handler answered: its route when it has one, so that no client can
// add labels without bound.
std::string known_route(const std::string& path) {
  for (const char* route : {"/recommend", "/recommend/batch", "/similar_items", "/items"})
    if (path == route) return route;
  return "other";
}

// Runs a journal record. A catalog log the disk cannot take (full, say) is the server's fault, not the request's:
// the change is live, the answer a 500 naming the file, and the next compaction writes the change.
template <class Record>
bool journaled(Record&& record, httplib::Response& res, const Log& log) {
  try {
    record();
    return true;
  } catch (const Error& e) {
    if (log) log(std::string("serve: catalog log: ") + e.what());
    send_json(res, 500, error_json(std::string("the change is live but not durable: ") + e.what(), ""));
    return false;
  }
}

}  // namespace

struct HttpServer::Impl {
  httplib::Server server;
};

HttpServer::HttpServer(ServerOptions options, Log log)
    : options_(std::move(options)), log_(std::move(log)), impl_(std::make_unique<Impl>()) {
  if (options_.threads < 1) throw Error("serve: --threads must be at least 1");
  if (options_.keep_alive_requests < 1) throw Error("serve: --keep-alive-requests must be at least 1");
  state_ = load_serving_state(options_.source);
  if (!options_.catalog_log.empty()) {
    // The changes an earlier server logged, onto the catalog the run holds; the log is then rewritten compacted.
    std::lock_guard journal_lock(journal_.mutex());
    journal_.open_log(options_.catalog_log, log_);
    journal_.replay(*state_->recommender, log_);
    journal_.compact_log();
    if (log_ && journal_.size() > 0)
      log_("serve: " + std::to_string(journal_.size()) + " catalog changes replayed from " +
           options_.catalog_log.string());
  }
  metrics_.set_state(state_->recommender->live_items(), state_->model_version, state_->recommender->describe_search());
  install_routes();
}

HttpServer::~HttpServer() { stop(); }

std::shared_ptr<const ServingState> HttpServer::state() const {
  std::lock_guard lock(state_mutex_);
  return state_;
}

void HttpServer::reload() {
  std::lock_guard reload_lock(reload_mutex_);
  std::shared_ptr<const ServingState> fresh;
  try {
    fresh = load_serving_state(options_.source);
  } catch (...) {
    metrics_.record_reload(false);
    throw;
  }
  {
    // The catalog's changes since the start, then the swap, with no change in between (journal_.mutex()).
    std::lock_guard journal_lock(journal_.mutex());
    journal_.replay(*fresh->recommender, log_);
    try {
      journal_.compact_log();  // a run folder replaced by a new training run gets its log anew
    } catch (...) {
      metrics_.record_reload(false);
      throw;
    }
    std::lock_guard lock(state_mutex_);
    state_.swap(fresh);
  }
  // `fresh` now holds the old state: freed here, or by the last request still using it.
  metrics_.record_reload(true);
  const auto now = state();
  metrics_.set_state(now->recommender->live_items(), now->model_version, now->recommender->describe_search());
  if (log_) log_("serve: reloaded " + options_.source.run_dir.string() + ", model " + now->model_version);
}

int HttpServer::bind() {
  auto& s = impl_->server;
  s.set_payload_max_length(static_cast<size_t>(options_.limits.max_body_bytes));
  // Answers go out at once: with Nagle's algorithm on, a small answer on a kept-alive connection waited for the
  // client's delayed ACK, 40 ms a request (bench/serve_load.sh measured 37 requests/s on one connection).
  s.set_tcp_nodelay(true);
  // cpp-httplib closes a kept-alive connection after 5 requests by default: under load every client then reconnects
  // all the time, and with its listen backlog of 5 a reconnect that finds the backlog full waits for TCP's one-second
  // SYN retry (64 connections at 100k items: p99 0.8 s; max 1.7 s).
  s.set_keep_alive_max_count(static_cast<size_t>(options_.keep_alive_requests));
  const int threads = options_.threads;
  s.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
  const int port = options_.port == 0 ? s.bind_to_any_port(options_.host)
                                      : (s.bind_to_port(options_.host, options_.port) ? options_.port : -1);
  if (port < 0)
    throw Error("serve: cannot listen on " + options_.host + ":" + std::to_string(options_.port) + " (" + errno_text() +
                ")");
  if (!widen_listen_backlog(port) && log_)
    log_("serve: warning: could not raise the listen backlog; many connections opened at once may wait 1 s or more");
  return port;
}

void HttpServer::listen() { impl_->server.listen_after_bind(); }

void HttpServer::stop() {
  if (impl_) impl_->server.stop();
}

void HttpServer::install_routes() {
  auto& s = impl_->server;
  // Every handler runs inside `handle`: one snapshot of the state for the whole request, the errors mapped to
  // statuses (RequestError: its own; ftmamba::Error: 400 naming `field`; anything else: 500, logged), the metrics.
  using Body = std::function<void(const httplib::Request&, httplib::Response&, const ServingState&)>;
  const auto handle = [this](std::string endpoint, std::string field, Body body) {
    return [this, endpoint = std::move(endpoint), field = std::move(field), body = std::move(body)](
               const httplib::Request& req, httplib::Response& res) {
      const auto start = Clock::now();
      try {
        const auto current = state();
        body(req, res, *current);
      } catch (const RequestError& e) {
        send_json(res, e.status, error_json(e.what(), e.field));
      } catch (const Error& e) {
        send_json(res, 400, error_json(e.what(), field));
      } catch (const std::exception& e) {
        if (log_) log_("serve: " + req.method + " " + req.path + ": internal error: " + e.what());
        send_json(res, 500, error_json(std::string("internal error: ") + e.what(), ""));
      } catch (...) {
        if (log_) log_("serve: " + req.method + " " + req.path + ": internal error");
        send_json(res, 500, error_json("internal error", ""));
      }
      metrics_.record(endpoint, res.status, std::chrono::duration<double>(Clock::now() - start).count());
    };
  };
  const auto& limits = options_.limits;

  s.Post("/recommend", handle("/recommend", "features", [&limits](const auto& req, auto& res, const auto& st) {
           const auto r = parse_recommend_request(req.body, st.user_features, limits);
           const auto& rec = *st.recommender;
           Recommendations recs;
           if (r.has_features) {
             recs = rec.recommend_new_user(r.features, r.k, r.user_id, r.exclude);
           } else if (rec.find_user(r.user_id)) {
             recs = rec.recommend(r.user_id, r.k, !r.exclude_seen, r.exclude);
           } else {
             throw unknown_user("user_id", r.user_id);
           }
           send_text(res, recommendations_body(recs, st.model_version, rec.describe_search()));
         }));

  s.Post("/recommend/batch",
         handle("/recommend/batch", "requests", [&limits](const auto& req, auto& res, const auto& st) {
           const auto requests = parse_batch_request(req.body, st.user_features, limits);
           const auto& rec = *st.recommender;
           std::vector<UserQuery> queries;
           queries.reserve(requests.size());
           for (size_t i = 0; i < requests.size(); ++i) {
             const auto& r = requests[i];
             if (!r.has_features && !rec.find_user(r.user_id))
               throw unknown_user("requests[" + std::to_string(i) + "].user_id", r.user_id);
             queries.push_back({r.user_id, r.has_features, r.features, r.k, !r.exclude_seen, r.exclude});
           }
           std::vector<Recommendations> results;
           try {
             results = rec.recommend_many(queries);
           } catch (const BadUser& e) {
             throw RequestError("requests[" + std::to_string(e.index) + "]." + e.field, e.what());
           }
           send_text(res, batch_body(results, st.model_version, rec.describe_search()));
         }));

  s.Post("/similar_items", handle("/similar_items", "item_id", [&limits](const auto& req, auto& res, const auto& st) {
           const auto r = parse_similar_items_request(req.body, limits);
           const auto& rec = *st.recommender;
           send_text(res, similar_items_body(r.item_id, rec.similar_items(r.item_id, r.k, r.exclude), st.model_version,
                                             rec.describe_search()));
         }));

  s.Post("/items", handle("/items", "items", [this, &limits](const auto& req, auto& res, const auto& request_state) {
           auto updates = parse_items_request(req.body, request_state.item_features, limits);
           const auto pairs = as_pairs(updates);
           // Made and journaled under the journal's lock, on the state serving now: a reload that swapped in a
           // new state since this request began has replayed the journal, and this change goes on top of it.
           std::lock_guard journal_lock(journal_.mutex());
           const auto current = state();
           const auto& st = *current;
           auto& rec = *st.recommender;
           std::vector<bool> created;
           try {
             created = rec.upsert_items(pairs);
           } catch (const BadItem& e) {
             throw RequestError("items[" + std::to_string(e.index) + "].features", e.what());
           }
           if (!journaled([&] { journal_.record_upserts(pairs); }, res, log_)) return;
           auto items = Json::array();
           int64_t added = 0;
           for (size_t i = 0; i < updates.size(); ++i) {
             items.push_back({{"item_id", updates[i].item_id}, {"created", static_cast<bool>(created[i])}});
             added += created[i] ? 1 : 0;
           }
           Json body = {{"items", items},
                        {"created", added},
                        {"updated", static_cast<int64_t>(updates.size()) - added},
                        {"live_items", rec.live_items()}};
           add_versions(body, st.model_version, rec.describe_search());
           metrics_.set_state(rec.live_items(), st.model_version, rec.describe_search());
           send_json(res, 200, body);
         }));

  s.Delete(R"(/items/(.+))", handle("/items/{id}", "item_id", [this](const auto& req, auto& res, const auto&) {
             const std::string id = req.matches[1];
             std::lock_guard journal_lock(journal_.mutex());  // as for POST /items
             const auto current = state();
             const auto& st = *current;
             auto& rec = *st.recommender;
             if (!rec.remove_item(id)) {
               send_json(res, 404, error_json("unknown item '" + id + "' (not in the catalog)", "item_id"));
               return;
             }
             if (!journaled([&] { journal_.record_removal(id); }, res, log_)) return;
             Json body = {{"item_id", id}, {"removed", true}, {"live_items", rec.live_items()}};
             add_versions(body, st.model_version, rec.describe_search());
             metrics_.set_state(rec.live_items(), st.model_version, rec.describe_search());
             send_json(res, 200, body);
           }));

  s.Get("/healthz", handle("/healthz", "", [](const auto&, auto& res, const auto& st) {
          Json body = {{"status", "ok"}, {"live_items", st.recommender->live_items()}};
          add_versions(body, st.model_version, st.recommender->describe_search());
          send_json(res, 200, body);
        }));

  s.Get("/metrics", handle("/metrics", "", [this](const auto&, auto& res, const auto&) {
          res.status = 200;
          res.set_content(metrics_.prometheus_text(), "text/plain; version=0.0.4");
        }));

  s.Get("/info", handle("/info", "", [](const auto&, auto& res, const auto& st) {
          const auto& rec = *st.recommender;
          const auto& ids = rec.data().user_ids;
          const std::vector<std::string> sample(ids.begin(), ids.begin() + std::min(ids.size(), kUserSample));
          const auto& f = st.user_features;
          Json body = {
              {"users", ids.size()},
              {"items", rec.live_items()},
              {"user_sample", sample},
              {"user_features",
               {{"numerical", f.numerical}, {"categorical", f.categorical}, {"multi_valued", f.multi_valued}}}};
          add_versions(body, st.model_version, rec.describe_search());
          send_json(res, 200, body);
        }));

  s.Get(R"(/users/(.+))", handle("/users/{id}", "user_id", [](const auto& req, auto& res, const auto& st) {
          const std::string id = req.matches[1];
          const auto& rec = *st.recommender;
          const auto row = rec.find_user(id);
          if (!row) {
            send_json(res, 404, error_json("unknown user '" + id + "'", "user_id"));
            return;
          }
          const auto& seen = rec.seen_items(*row);
          auto history = Json::array();
          for (size_t i = 0; i < seen.size() && i < kHistoryShown; ++i) history.push_back(rec.item_id(seen[i]));
          send_json(res, 200, {{"user_id", id}, {"seen_count", seen.size()}, {"history", history}});
        }));

  s.Get("/", handle("/", "", [](const auto&, auto& res, const auto&) {
          res.status = 200;
          res.set_content(web_page(), "text/html; charset=utf-8");
        }));

  s.Post("/admin/reload", handle("/admin/reload", "", [this](const auto& req, auto& res, const auto&) {
           if (options_.admin_token.empty()) {
             send_json(res, 404, error_json("not found (the server runs without --admin-token)", ""));
             return;
           }
           const std::string expected = "Bearer " + options_.admin_token;
           if (!same_token(req.get_header_value("Authorization"), expected)) {
             send_json(res, 403, error_json("a wrong or missing bearer token", "Authorization"));
             return;
           }
           try {
             reload();
           } catch (const Error& e) {  // the run on disk cannot be loaded: the old state goes on serving
             if (log_) log_(std::string("serve: reload failed, still serving the previous model: ") + e.what());
             send_json(res, 500, error_json(std::string("reload failed: ") + e.what(), ""));
             return;
           }
           const auto now = state();
           Json body = {{"reloaded", true}, {"live_items", now->recommender->live_items()}};
           add_versions(body, now->model_version, now->recommender->describe_search());
           send_json(res, 200, body);
         }));

  // What no handler answered: a path without a route (404), a body over the limit (413), a wrong method. The
  // answer is JSON like every other.
  s.set_error_handler(httplib::Server::HandlerWithResponse([this](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    std::string message = "HTTP status " + std::to_string(res.status) + " for " + req.method + " " + req.path;
    std::string field;
    if (res.status == 404) message = "no route for " + req.method + " " + req.path;
    if (res.status == 400) {  // httplib refused the request before any route: a POST without Content-Length, say
      message = "a malformed HTTP request (a POST needs a Content-Length; curl -d '' sends one)";
    }
    if (res.status == 413) {
      message = "the body is over the limit of " + std::to_string(options_.limits.max_body_bytes) + " bytes";
      field = "body";
    }
    send_json(res, res.status, error_json(message, field));
    metrics_.record(known_route(req.path), res.status, 0);
    return httplib::Server::HandlerResponse::Handled;
  }));
  s.set_exception_handler([this](const httplib::Request& req, httplib::Response& res, std::exception_ptr) {
    if (log_) log_("serve: " + req.method + " " + req.path + ": internal error outside a handler");
    send_json(res, 500, error_json("internal error", ""));
  });
}

}  // namespace ftmamba::serve
