// The HTTP server (serve/http_server) over a run trained for one epoch on a small generated dataset, asked through
// httplib::Client on an ephemeral port: every endpoint answers what the Recommender answers; every class of bad
// input is a 400 (413 for a body over the limit) naming the field; an item added through POST /items is
// recommended next and DELETE removes it; /metrics counts; reloads under concurrent requests lose none; the admin
// token is checked. ServePageInBrowser loads the page in headless Chromium and reads the list it shows.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <torch/torch.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "ftmamba/io/atomic_file.h"
#include "ftmamba/run/config.h"
#include "ftmamba/run/run.h"
#include "ftmamba/serve/http_server.h"
#include "ftmamba/serve/recommender.h"
#include "ftmamba/train/trainer.h"
#include "generated_data_suite.h"
#include "tiny_run.h"

namespace fs = std::filesystem;
namespace run = ftmamba::run;
namespace serve = ftmamba::serve;
using nlohmann::json;

namespace {

// A server on a free port of 127.0.0.1, answering on its own thread until destroyed.
struct RunningServer {
  explicit RunningServer(serve::ServerOptions options, ftmamba::Log log = {})
      : server(std::move(options), std::move(log)) {
    port = server.bind();
    thread = std::thread([this] { server.listen(); });
  }
  ~RunningServer() {
    server.stop();
    thread.join();
  }
  httplib::Client client() const {
    httplib::Client c("127.0.0.1", port);
    c.set_read_timeout(60, 0);
    return c;
  }
  serve::HttpServer server;
  int port = 0;
  std::thread thread;
};

class HttpServerSuite : public ftmamba_test::GeneratedDataSuite<3000, 17> {
 protected:
  static void SetUpTestSuite() {
    GeneratedDataSuite::SetUpTestSuite();
    ftmamba_test::train_tiny_run(data_dir(), run_dir());
    reference_ = std::make_unique<serve::Recommender>(serve::Recommender::load(run_dir()));
    dataset_ = ftmamba::data::Dataset::load(data_dir());
    server_ = std::make_unique<RunningServer>(options("secret"));
  }
  static void TearDownTestSuite() {
    server_.reset();
    reference_.reset();
    GeneratedDataSuite::TearDownTestSuite();
  }
  static fs::path run_dir() { return root() / "run"; }
  static serve::ServerOptions options(const std::string& token) {
    serve::ServerOptions o;
    o.source.run_dir = run_dir();
    o.threads = 4;
    o.admin_token = token;
    o.limits.max_k = 100;
    o.limits.max_batch = 5;
    o.limits.max_body_bytes = 4096;
    return o;
  }
  static httplib::Client client() { return server_->client(); }
  static const serve::Recommender& reference() { return *reference_; }
  static const ftmamba::data::Dataset& dataset() { return dataset_; }

  // POST `body` to `path`: (status, parsed body).
  static std::pair<int, json> post(const std::string& path, const std::string& body) {
    auto c = client();
    const auto res = c.Post(path.c_str(), body, "application/json");
    if (!res) return {-1, json()};
    return {res->status, json::parse(res->body, nullptr, false)};
  }
  static std::pair<int, json> get(const std::string& path) {
    auto c = client();
    const auto res = c.Get(path.c_str());
    if (!res) return {-1, json()};
    return {res->status, json::parse(res->body, nullptr, false)};
  }
  // The field a 400 names, after checking the status and the body's shape.
  static std::string refused_field(const std::string& path, const std::string& body, int status = 400) {
    const auto [code, j] = post(path, body);
    EXPECT_EQ(code, status) << path << " " << body << " -> " << j.dump();
    EXPECT_TRUE(j.contains("error") && j["error"].is_string() && !j["error"].get<std::string>().empty()) << j.dump();
    return j.value("field", std::string("(no field)"));
  }

  // An item's features as the body of POST /items takes them: every present value.
  static json item_features(int64_t row) {
    const auto& t = dataset().items;
    json f = json::object();
    for (int64_t j = 0; j < t.n_num(); ++j)
      if (!std::isnan(t.num(row, j))) f[t.numerical_names[j]] = t.num(row, j);
    for (int64_t j = 0; j < t.n_cat(); ++j)
      if (!t.cat(row, j).empty()) f[t.categorical_names[j]] = t.cat(row, j);
    for (int64_t j = 0; j < t.n_multi(); ++j)
      if (!t.multi(row, j).empty()) f[t.multi_valued_names[j]] = t.multi(row, j);
    return f;
  }

  // ftmamba_requests_total of (endpoint, code) in the /metrics text (0 when absent).
  static double counter(const std::string& text, const std::string& endpoint, int code) {
    const std::regex line("ftmamba_requests_total\\{endpoint=\"" + std::regex_replace(endpoint, std::regex("/"), "/") +
                          "\",code=\"" + std::to_string(code) + "\"\\} ([0-9]+)");
    std::smatch m;
    return std::regex_search(text, m, line) ? std::stod(m[1]) : 0;
  }
  static std::string metrics_text() {
    auto c = client();
    const auto res = c.Get("/metrics");
    return res ? res->body : "";
  }

  static inline std::unique_ptr<RunningServer> server_;

 private:
  static inline std::unique_ptr<serve::Recommender> reference_;
  static inline ftmamba::data::Dataset dataset_;
};

void expect_same_items(const json& got, const std::vector<serve::ScoredItem>& want) {
  ASSERT_EQ(got.size(), want.size()) << got.dump();
  for (size_t r = 0; r < want.size(); ++r) {
    EXPECT_EQ(got[r].at("rank"), static_cast<int64_t>(r) + 1);
    EXPECT_EQ(got[r].at("item_id"), want[r].item);
    EXPECT_NEAR(got[r].at("score").get<double>(), want[r].score, 1e-5);
  }
}

}  // namespace

TEST_F(HttpServerSuite, RecommendForAKnownUserIsTheRecommendersList) {
  const std::string user = dataset().users.ids[3];
  const auto [code, j] = post("/recommend", json{{"user_id", user}, {"k", 7}}.dump());
  ASSERT_EQ(code, 200) << j.dump();
  EXPECT_EQ(j.at("user_id"), user);
  EXPECT_EQ(j.at("cold_start"), false);
  EXPECT_EQ(j.at("index"), "exact");
  EXPECT_EQ(j.at("model_version").get<std::string>().size(), 16u);
  expect_same_items(j.at("items"), reference().recommend(user, 7).items);
  // exclude_seen false brings the seen items back; "exclude" leaves items out, unknown ids ignored.
  const auto all = post("/recommend", json{{"user_id", user}, {"k", 7}, {"exclude_seen", false}}.dump()).second;
  expect_same_items(all.at("items"), reference().recommend(user, 7, true).items);
  const std::string first = j["items"][0]["item_id"];
  const auto without =
      post("/recommend", json{{"user_id", user}, {"k", 7}, {"exclude", {first, "no-such-item"}}}.dump());
  ASSERT_EQ(without.first, 200);
  expect_same_items(without.second.at("items"), reference().recommend(user, 7, false, {first}).items);
  EXPECT_NE(without.second["items"][0]["item_id"], first);
}

TEST_F(HttpServerSuite, ColdStartBatchAndSimilarItems) {
  const json features = {{"age", 30}};
  const auto [code, j] = post("/recommend", json{{"features", features}, {"k", 5}}.dump());
  ASSERT_EQ(code, 200) << j.dump();
  EXPECT_EQ(j.at("cold_start"), true);
  EXPECT_TRUE(j.at("user_id").is_null());
  expect_same_items(j.at("items"), reference().recommend_new_user({{"age", "30"}}, 5).items);

  const std::string u0 = dataset().users.ids[0], u1 = dataset().users.ids[1];
  const auto batch = post(
      "/recommend/batch",
      json{{"requests", {{{"user_id", u0}, {"k", 3}}, {{"user_id", u1}, {"k", 4}}, {{"features", features}}}}}.dump());
  ASSERT_EQ(batch.first, 200) << batch.second.dump();
  const auto& results = batch.second.at("results");
  ASSERT_EQ(results.size(), 3u);
  expect_same_items(results[0].at("items"), reference().recommend(u0, 3).items);
  expect_same_items(results[1].at("items"), reference().recommend(u1, 4).items);
  expect_same_items(results[2].at("items"), reference().recommend_new_user({{"age", "30"}}, 10).items);

  const std::string item = dataset().items.ids[2];
  const auto similar = post("/similar_items", json{{"item_id", item}, {"k", 6}}.dump());
  ASSERT_EQ(similar.first, 200) << similar.second.dump();
  expect_same_items(similar.second.at("items"), reference().similar_items(item, 6));
  for (const auto& it : similar.second["items"]) EXPECT_NE(it["item_id"], item);  // never itself
}

TEST_F(HttpServerSuite, HealthInfoHistoryAndPage) {
  const auto [code, health] = get("/healthz");
  ASSERT_EQ(code, 200);
  EXPECT_EQ(health.at("status"), "ok");
  const auto info = get("/info").second;
  EXPECT_EQ(info.at("users"), dataset().users.size());
  EXPECT_EQ(info.at("user_sample")[0], dataset().users.ids[0]);
  EXPECT_EQ(info.at("user_features").at("numerical"), json(dataset().users.numerical_names));
  const std::string user = dataset().users.ids[4];
  const auto history = get("/users/" + user);
  ASSERT_EQ(history.first, 200);
  const auto& seen = reference().seen_items(*reference().find_user(user));
  EXPECT_EQ(history.second.at("seen_count"), seen.size());
  EXPECT_EQ(history.second.at("history")[0], dataset().items.ids[seen[0]]);
  EXPECT_EQ(get("/users/nobody").first, 404);
  auto c = client();
  const auto page = c.Get("/");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_NE(page->body.find("<title>ftmamba recommendations</title>"), std::string::npos);
  EXPECT_EQ(page->body.find("http://"), std::string::npos);  // self-contained: nothing loaded from elsewhere
  EXPECT_EQ(page->body.find("https://"), std::string::npos);
}

TEST_F(HttpServerSuite, EveryClassOfBadInputIs400NamingTheField) {
  const std::string u = dataset().users.ids[0];
  EXPECT_EQ(refused_field("/recommend", "{\"user_id\": "), "body");                                   // malformed JSON
  EXPECT_EQ(refused_field("/recommend", "{}"), "user_id");                                            // missing id
  EXPECT_EQ(refused_field("/recommend", R"({"user_id": "nobody"})"), "user_id");                      // unknown user
  EXPECT_EQ(refused_field("/recommend", R"({"features": {"shoe_size": 3}})"), "features.shoe_size");  // feature
  EXPECT_EQ(refused_field("/recommend", R"({"features": {"age": [3]}})"), "features.age");            // wrong type
  EXPECT_EQ(refused_field("/recommend", R"({"features": {"age": "nan"}})"), "features.age");          // NaN
  EXPECT_EQ(refused_field("/recommend", R"({"features": {"age": "-inf"}})"), "features.age");         // Inf
  EXPECT_EQ(refused_field("/recommend", json{{"user_id", u}, {"k", 0}}.dump()), "k");                 // k range
  EXPECT_EQ(refused_field("/recommend", json{{"user_id", u}, {"k", 101}}.dump()), "k");
  EXPECT_EQ(refused_field("/recommend/batch", json{{"requests", json::array({{{"user_id", u}},
                                                                             {{"user_id", u}},
                                                                             {{"user_id", u}},
                                                                             {{"user_id", u}},
                                                                             {{"user_id", u}},
                                                                             {{"user_id", u}}})}}
                                                  .dump()),
            "requests");  // oversized batch
  EXPECT_EQ(refused_field("/recommend/batch", json{{"requests", {{{"user_id", u}}, {{"user_id", "nobody"}}}}}.dump()),
            "requests[1].user_id");
  EXPECT_EQ(refused_field("/similar_items", R"({"item_id": "no-such-item"})"), "item_id");
  EXPECT_EQ(refused_field("/items", R"({"items": [{"item_id": "x", "features": {"nope": 1}}]})"),
            "items[0].features.nope");
  std::string big = R"({"user_id": ")";  // appended, not summed: GCC 12's -O3 array-bounds warning
  big.append(5000, 'u');
  big += "\"}";
  EXPECT_EQ(refused_field("/recommend", big, 413), "body");
  // A route that does not exist: 404, in JSON all the same.
  const auto [code, j] = post("/nowhere", "{}");
  EXPECT_EQ(code, 404);
  EXPECT_TRUE(j.contains("error"));
}

TEST_F(HttpServerSuite, AnAddedItemIsRecommendedAndDeleteRemovesIt) {
  const std::string user = dataset().users.ids[5];
  const auto before = post("/recommend", json{{"user_id", user}, {"k", 3}}.dump()).second;
  const std::string top = before["items"][0]["item_id"];
  const double top_score = before["items"][0]["score"];
  // A new item with the top item's features gets its embedding (up to the rounding of a batch of one), so its
  // score: the two lead the list.
  const json update = {
      {"items", {{{"item_id", "brand-new"}, {"features", item_features(dataset().items.index.at(top))}}}}};
  const auto [code, added] = post("/items", update.dump());
  ASSERT_EQ(code, 200) << added.dump();
  EXPECT_EQ(added.at("created"), 1);
  EXPECT_EQ(added.at("live_items"), dataset().items.size() + 1);
  const auto after = post("/recommend", json{{"user_id", user}, {"k", 3}}.dump()).second;
  const std::set<std::string> leaders{after["items"][0]["item_id"], after["items"][1]["item_id"]};
  EXPECT_EQ(leaders, (std::set<std::string>{top, "brand-new"})) << after.dump();
  EXPECT_NEAR(after["items"][1]["score"].get<double>(), top_score, 1e-5);
  // Posting it again updates it in place.
  const auto again = post("/items", update.dump()).second;
  EXPECT_EQ(again.at("created"), 0);
  EXPECT_EQ(again.at("updated"), 1);
  // The nearest item to the new one is the one it copies.
  const auto similar = post("/similar_items", json{{"item_id", "brand-new"}, {"k", 1}}.dump()).second;
  EXPECT_EQ(similar["items"][0]["item_id"], top);

  auto c = client();
  const auto removed = c.Delete("/items/brand-new");
  ASSERT_TRUE(removed);
  EXPECT_EQ(removed->status, 200);
  const auto gone = post("/recommend", json{{"user_id", user}, {"k", 3}}.dump()).second;
  EXPECT_EQ(gone.at("items"), before.at("items"));
  EXPECT_EQ(c.Delete("/items/brand-new")->status, 404);
  EXPECT_EQ(refused_field("/similar_items", R"({"item_id": "brand-new"})"), "item_id");
  // Excluding a deleted item is no error.
  EXPECT_EQ(post("/recommend", json{{"user_id", user}, {"exclude", {"brand-new"}}}.dump()).first, 200);
}

TEST_F(HttpServerSuite, CatalogChangesSurviveAReload) {
  const int64_t n = dataset().items.size();
  const json features = item_features(3);
  ASSERT_EQ(post("/items", json{{"items",
                                 {{{"item_id", "kept-new"}, {"features", features}},
                                  {{"item_id", "dropped-new"}, {"features", features}}}}}
                               .dump())
                .first,
            200);
  auto c = client();
  ASSERT_EQ(c.Delete("/items/dropped-new")->status, 200);
  server_->server.reload();
  // The reloaded state has the added item, not the removed one.
  const auto health = json::parse(c.Get("/healthz")->body);
  EXPECT_EQ(health.at("live_items"), n + 1) << health.dump();
  const auto similar = post("/similar_items", json{{"item_id", "kept-new"}, {"k", 1}}.dump());
  EXPECT_EQ(similar.first, 200) << similar.second.dump();
  EXPECT_EQ(similar.second["items"][0]["item_id"], dataset().items.ids[3]);
  EXPECT_EQ(refused_field("/similar_items", R"({"item_id": "dropped-new"})"), "item_id");
  EXPECT_EQ(c.Delete("/items/dropped-new")->status, 404);
  // Removed again, the item stays out across the next reload too.
  ASSERT_EQ(c.Delete("/items/kept-new")->status, 200);
  server_->server.reload();
  EXPECT_EQ(json::parse(c.Get("/healthz")->body).at("live_items"), n);
  EXPECT_EQ(refused_field("/similar_items", R"({"item_id": "kept-new"})"), "item_id");
}

TEST_F(HttpServerSuite, CatalogChangesOutliveTheServerThroughItsLog) {
  const int64_t n = dataset().items.size();
  const fs::path log_path = root() / "catalog_changes.jsonl";
  fs::remove(log_path);
  auto options_with_log = options("");
  options_with_log.catalog_log = log_path;
  const std::string removed = dataset().items.ids[5];
  {
    RunningServer first(options_with_log);
    auto c = first.client();
    const json body = {{"items", {{{"item_id", "logged-new"}, {"features", item_features(3)}}}}};
    ASSERT_EQ(c.Post("/items", body.dump(), "application/json")->status, 200);
    ASSERT_EQ(c.Delete(("/items/" + removed).c_str())->status, 200);
  }
  const auto live_after_restart = [&](const std::vector<std::string>& logged) {
    std::vector<std::string> lines;
    RunningServer next(options_with_log, [&](const std::string& line) { lines.push_back(line); });
    auto c = next.client();
    const auto health = json::parse(c.Get("/healthz")->body);
    const auto similar = c.Post("/similar_items", json{{"item_id", "logged-new"}, {"k", 1}}.dump(), "application/json");
    EXPECT_EQ(similar->status, 200) << similar->body;
    EXPECT_EQ(json::parse(similar->body)["items"][0]["item_id"], dataset().items.ids[3]);
    EXPECT_EQ(c.Post("/similar_items", json{{"item_id", removed}}.dump(), "application/json")->status, 400);
    for (const auto& fragment : logged) {
      bool found = false;
      for (const auto& line : lines) found = found || line.find(fragment) != std::string::npos;
      EXPECT_TRUE(found) << "no log line holds: " << fragment;
    }
    return health.at("live_items").get<int64_t>();
  };
  // A new server on the same run starts from the run's catalog and the logged changes.
  EXPECT_EQ(live_after_restart({"2 catalog changes replayed"}), n);
  // A change the server was writing when it died is skipped; the log is rewritten without it.
  std::ofstream(log_path, std::ios::app) << R"({"item_id": "half)";
  EXPECT_EQ(live_after_restart({log_path.string() + ":3: a change cut short"}), n);
  EXPECT_EQ(ftmamba::io::read_file(log_path).back(), '\n');
  // A line that is not a change refuses the start, naming the file and the line.
  std::ofstream(log_path, std::ios::app) << "{\"item_id\": \"x\", \"colour\": 1}\n";
  try {
    serve::HttpServer refused(options_with_log);
    ADD_FAILURE() << "a bad catalog log was accepted";
  } catch (const ftmamba::Error& e) {
    EXPECT_EQ(std::string(e.what()), log_path.string() + ":3: unknown key 'colour'");
  }
}

TEST_F(HttpServerSuite, MetricsCountRequestsAndErrors) {
  const std::string before = metrics_text();
  post("/recommend", json{{"user_id", dataset().users.ids[0]}}.dump());
  post("/recommend", "{}");
  post("/recommend", "{}");
  const std::string after = metrics_text();
  EXPECT_EQ(counter(after, "/recommend", 200), counter(before, "/recommend", 200) + 1);
  EXPECT_EQ(counter(after, "/recommend", 400), counter(before, "/recommend", 400) + 2);
  EXPECT_NE(after.find("# TYPE ftmamba_request_duration_seconds histogram"), std::string::npos);
  EXPECT_NE(after.find("ftmamba_request_duration_seconds_bucket{endpoint=\"/recommend\",le=\"+Inf\"}"),
            std::string::npos);
  EXPECT_NE(after.find("ftmamba_request_errors_total{endpoint=\"/recommend\"}"), std::string::npos);
  EXPECT_NE(after.find("ftmamba_index_items " + std::to_string(dataset().items.size())), std::string::npos);
  EXPECT_NE(after.find("ftmamba_model_info{model_version=\""), std::string::npos);
}

TEST_F(HttpServerSuite, AdminReloadNeedsTheToken) {
  auto c = client();
  EXPECT_EQ(c.Post("/admin/reload", "", "application/json")->status, 403);
  httplib::Headers wrong = {{"Authorization", "Bearer nope"}}, right = {{"Authorization", "Bearer secret"}};
  EXPECT_EQ(c.Post("/admin/reload", wrong, "", "application/json")->status, 403);
  const auto ok = c.Post("/admin/reload", right, "", "application/json");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200) << ok->body;
  EXPECT_EQ(json::parse(ok->body).at("reloaded"), true);
  // Without --admin-token the route is not served at all.
  RunningServer plain(options(""));
  auto p = plain.client();
  EXPECT_EQ(p.Post("/admin/reload", right, "", "application/json")->status, 404);
}

TEST_F(HttpServerSuite, ReloadUnderConcurrentRequestsLosesNone) {
  const auto want = reference().recommend(dataset().users.ids[7], 5).items;
  std::atomic<bool> done{false};
  std::atomic<int> answered{0}, failed{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t) {
    clients.emplace_back([&, t] {
      auto c = client();
      const std::string body = json{{"user_id", dataset().users.ids[7]}, {"k", 5}}.dump();
      while (!done) {
        const auto res = c.Post("/recommend", body, "application/json");
        const auto j = res ? json::parse(res->body, nullptr, false) : json();
        bool same = res && res->status == 200 && j.contains("items") && j["items"].size() == want.size();
        for (size_t r = 0; same && r < want.size(); ++r) same = j["items"][r]["item_id"] == want[r].item;
        ++(same ? answered : failed);
        if (!same) ADD_FAILURE() << "client " << t << ": " << (res ? res->body : "no response");
      }
    });
  }
  for (int i = 0; i < 4; ++i) server_->server.reload();
  auto c = client();
  httplib::Headers right = {{"Authorization", "Bearer secret"}};
  for (int i = 0; i < 2; ++i) EXPECT_EQ(c.Post("/admin/reload", right, "", "application/json")->status, 200);
  done = true;
  for (auto& t : clients) t.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_GT(answered.load(), 8);
  EXPECT_NE(metrics_text().find("ftmamba_reloads_total{outcome=\"ok\"}"), std::string::npos);
}

// The page in headless Chromium, opened as /?user=ID: its script asks for the user's list and history; the DOM
// after it ran holds the list, and a screenshot is written for docs/figures/serve-page.png.
class ServePageInBrowser : public HttpServerSuite {};

TEST_F(ServePageInBrowser, ThePageShowsTheUsersRecommendations) {
  std::string chromium;
  for (const char* name : {"/usr/bin/chromium", "/usr/bin/chromium-browser"})
    if (::access(name, X_OK) == 0) chromium = name;
  if (chromium.empty()) {
    if (std::getenv("CI")) FAIL() << "chromium not found on CI: apt-get install chromium (scripts/install-deps does)";
    GTEST_SKIP() << "chromium not found: apt-get install chromium fonts-dejavu-core (scripts/install-deps does)";
  }
  const std::string user = dataset().users.ids[2];
  const std::string url = fmt::format("http://127.0.0.1:{}/?user={}&k=8", server_->port, user);
  const fs::path tmp = root() / "chromium";
  fs::create_directories(tmp);
  const std::string common = fmt::format(
      "cd '{0}' && HOME='{0}' timeout 60 {1} --headless=new --no-sandbox --disable-gpu --hide-scrollbars "
      "--no-first-run --disable-dev-shm-usage --window-size=1100,900 --virtual-time-budget=5000 "
      "--user-data-dir='{0}/profile'",
      tmp.string(), chromium);
  const fs::path dom = tmp / "dom.html", log = tmp / "chromium.log", shot = tmp / "serve-page.png";
  ASSERT_EQ(
      std::system(fmt::format("{} --dump-dom '{}' >'{}' 2>'{}'", common, url, dom.string(), log.string()).c_str()), 0);
  std::ifstream in(dom);
  std::stringstream text;
  text << in.rdbuf();
  const std::string html = text.str();
  std::smatch m;
  ASSERT_TRUE(std::regex_search(html, m, std::regex("id=\"recs\" data-count=\"(\\d+)\""))) << html.substr(0, 3000);
  EXPECT_EQ(std::stoi(m[1]), 8);
  const auto want = reference().recommend(user, 8).items;
  EXPECT_NE(html.find("<td>" + want[0].item + "</td>"), std::string::npos) << html.substr(0, 3000);
  EXPECT_NE(html.find(" items</div>"), std::string::npos);  // the history's count
  ASSERT_EQ(std::system(
                fmt::format("{} --screenshot='{}' '{}' >'{}' 2>&1", common, shot.string(), url, log.string()).c_str()),
            0);
  ASSERT_TRUE(fs::exists(shot));
  EXPECT_GT(fs::file_size(shot), 10000u);
  // FTMAMBA_SERVE_SCREENSHOT=PATH keeps the screenshot (docs/figures/serve-page.png is made so).
  if (const char* keep = std::getenv("FTMAMBA_SERVE_SCREENSHOT"))
    fs::copy_file(shot, keep, fs::copy_options::overwrite_existing);
}
