// defines: Drift, a preference shift for one user segment (`generate --drift`), and gen::apply_drift,
// which moves the segment's tastes.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "ftmamba/data/generator/table.h"

namespace ftmamba::data {

// A preference shift for one user segment (`generate --drift`): every user whose `column` satisfies the
// condition moves their taste toward one shared random direction:
//   taste_u <- (1 - strength) taste_u + strength R g      (R: the rms norm of all users' tastes, |g| = 1)
// and so does their feature-explained (oracle) part. Everything else, the tables, every other user's
// interactions and every user's activity, stays as the same seed without drift makes it, so the drifted
// dataset has the base dataset's schema, users and items, and differs only in what the segment picks.
struct Drift {
  std::string column;           // a user feature column
  char op = '=';                // '=' (categorical level), '>' or '<' (numerical threshold)
  std::string level;            // op '='
  double threshold = 0.0;       // op '>' / '<'
  double strength = 0.7;        // in (0, 1]
  uint64_t direction_seed = 0;  // picks g

  // "country=SE", "age>40", "age<25"; throws Error for anything else.
  static Drift parse(const std::string& segment);
  std::string segment() const;  // back to text
};

namespace gen {

// Moves the tastes (and oracle parts) of the drift segment's users toward one random direction; returns how
// many users the segment holds. taste and oracle are (users, D). Throws Error for an unknown column, a
// level no user has, an empty segment or a strength outside (0, 1].
int64_t apply_drift(const Drift& drift, const Table& users, int D, std::vector<double>& taste,
                    std::vector<double>& oracle);

}  // namespace gen
}  // namespace ftmamba::data
