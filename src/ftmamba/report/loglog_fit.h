// defines: fit_loglog / fit_loglog_slope, a least-squares power law y = exp(log_coef) * x^slope fitted on
// (log x, log y), used for the time-vs-sequence-length scaling exponent.
#pragma once
#include <cmath>
#include <cstddef>
#include <vector>

#include "ftmamba/core/error.h"

namespace ftmamba::report {

struct PowerLawFit {
  double slope = 0;     // d log y / d log x
  double log_coef = 0;  // log y at x = 1
  double at(double x) const { return std::exp(log_coef + slope * std::log(x)); }
};

// Ordinary least squares of log y on log x. Needs xs.size() == ys.size() >= 2, every value > 0 and finite,
// and at least two distinct xs; throws ftmamba::Error otherwise.
inline PowerLawFit fit_loglog(const std::vector<double>& xs, const std::vector<double>& ys) {
  if (xs.size() != ys.size()) throw Error("fit_loglog: xs and ys differ in length");
  if (xs.size() < 2) throw Error("fit_loglog: needs at least two points");
  const double n = static_cast<double>(xs.size());
  double mx = 0, my = 0;
  for (std::size_t i = 0; i < xs.size(); ++i) {
    if (!(xs[i] > 0) || !(ys[i] > 0) || !std::isfinite(xs[i]) || !std::isfinite(ys[i]))
      throw Error("fit_loglog: every x and y must be positive and finite");
    mx += std::log(xs[i]);
    my += std::log(ys[i]);
  }
  mx /= n;
  my /= n;
  // Centred sums: numerically safer than the textbook n*sum(xy) - sum(x)*sum(y).
  double sxx = 0, sxy = 0;
  for (std::size_t i = 0; i < xs.size(); ++i) {
    const double dx = std::log(xs[i]) - mx;
    sxx += dx * dx;
    sxy += dx * (std::log(ys[i]) - my);
  }
  if (sxx == 0) throw Error("fit_loglog: needs at least two distinct x values");
  PowerLawFit fit;
  fit.slope = sxy / sxx;
  fit.log_coef = my - fit.slope * mx;
  return fit;
}

inline double fit_loglog_slope(const std::vector<double>& xs, const std::vector<double>& ys) {
  return fit_loglog(xs, ys).slope;
}

}  // namespace ftmamba::report
