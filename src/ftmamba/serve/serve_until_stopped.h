// defines: serve_until_stopped, what `ftmamba serve` runs: an HttpServer answering until SIGINT or SIGTERM, and
// reloading the run on SIGHUP.
#pragma once
#include <functional>
#include <string>

#include "ftmamba/core/log.h"
#include "ftmamba/serve/http_server.h"

namespace ftmamba::serve {

// Loads the run, binds, calls on_listening with the URL (http://HOST:PORT/) once connections are accepted, and
// answers until a SIGINT or SIGTERM (requests in flight are finished). SIGHUP reloads the run; a failed reload is
// logged and the previous model goes on serving. Throws Error when the run cannot be loaded or the port bound.
void serve_until_stopped(const ServerOptions& options, const std::function<void(const std::string& url)>& on_listening,
                         const Log& log);

}  // namespace ftmamba::serve
