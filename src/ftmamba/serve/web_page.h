// defines: web_page, the server's one HTML page (GET /): pick a known user or type a new user's features, ask for
// recommendations, and see the user's history beside the list with scores. Self-contained: no external resource.
#pragma once
#include <string>

namespace ftmamba::serve {

// The page's HTML. Its script reads GET /info (users, feature columns), then POSTs /recommend and GETs
// /users/{id}. Opened as /?user=ID (optionally &k=N) it asks for that user at once, for links and headless checks.
const std::string& web_page();

}  // namespace ftmamba::serve
