// defines: the `spotify` preset: listeners (age, country, plan, listening habits, favourite genre) and
// tracks (genre, subgenre, artist, audio features), with a latent taste model tying them together.
#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "ftmamba/core/error.h"
#include "ftmamba/data/presets/preset.h"

namespace ftmamba::data {
namespace {

using gen::Rng;

// A genre's share of the catalogue and its typical sound.
struct Genre {
  const char* name;
  double share;
  double dance, energy, valence, acoustic;  // means on [0, 1]
  double tempo;                             // BPM
  double explicit_rate;
  double year;        // typical release year
  double duration_s;  // typical length
  std::vector<const char*> subgenres;
};

const std::vector<Genre>& genres() {
  // clang-format off
  static const std::vector<Genre> g = {
      // name, share, dance, energy, valence, acoustic, tempo, explicit, year, seconds, subgenres
      {"pop", 0.17, 0.66, 0.66, 0.56, 0.20, 118, 0.15, 2016, 205, {"dance pop", "electropop", "pop rock", "teen pop"}},
      {"hip-hop", 0.14, 0.76, 0.64, 0.46, 0.12, 98, 0.65, 2017, 195, {"trap", "boom bap", "conscious rap", "drill"}},
      {"rock", 0.12, 0.46, 0.79, 0.45, 0.10, 126, 0.08, 1998, 240,
       {"classic rock", "alternative rock", "hard rock", "punk"}},
      {"electronic", 0.10, 0.70, 0.80, 0.40, 0.05, 124, 0.05, 2015, 260, {"house", "techno", "edm", "drum and bass"}},
      {"r&b", 0.07, 0.66, 0.55, 0.50, 0.25, 96, 0.35, 2013, 220, {"contemporary r&b", "neo soul", "quiet storm"}},
      {"latin", 0.08, 0.76, 0.72, 0.66, 0.20, 104, 0.25, 2018, 200, {"reggaeton", "latin pop", "bachata", "salsa"}},
      {"indie", 0.07, 0.50, 0.56, 0.40, 0.35, 116, 0.08, 2013, 225, {"indie rock", "indie folk", "dream pop"}},
      {"country", 0.05, 0.56, 0.62, 0.60, 0.30, 114, 0.03, 2011, 210,
       {"contemporary country", "americana", "bluegrass"}},
      {"metal", 0.04, 0.36, 0.92, 0.30, 0.02, 134, 0.30, 2004, 280, {"heavy metal", "death metal", "metalcore"}},
      {"jazz", 0.03, 0.52, 0.36, 0.50, 0.70, 112, 0.00, 1982, 320, {"bebop", "smooth jazz", "jazz fusion"}},
      {"k-pop", 0.03, 0.70, 0.77, 0.62, 0.10, 121, 0.05, 2019, 200, {"k-pop girl group", "k-pop boy group"}},
      {"classical", 0.025, 0.25, 0.18, 0.25, 0.93, 96, 0.00, 1972, 390,
       {"baroque", "romantic era", "modern classical"}},
      {"folk", 0.025, 0.45, 0.35, 0.45, 0.76, 104, 0.02, 2009, 230, {"singer-songwriter", "traditional folk"}},
      {"ambient", 0.02, 0.30, 0.20, 0.20, 0.80, 90, 0.00, 2014, 300, {"lo-fi", "drone", "new age"}},
      {"reggae", 0.01, 0.72, 0.58, 0.70, 0.22, 94, 0.10, 1995, 230, {"roots reggae", "dancehall"}},
      {"gospel", 0.004, 0.50, 0.52, 0.62, 0.40, 100, 0.00, 2006, 270, {"gospel"}},  // a rare genre
  };
  // clang-format on
  return g;
}

struct Country {
  const char* code;
  double share;
  double latin, asian;  // regional taste leanings (shift favourite genre)
};

const std::vector<Country>& countries() {
  static const std::vector<Country> c = {
      {"US", 0.22, 0.2, 0.05}, {"BR", 0.09, 0.6, 0}, {"MX", 0.07, 1.0, 0}, {"GB", 0.07, 0, 0},
      {"DE", 0.06, 0, 0},      {"IN", 0.05, 0, 0.2}, {"FR", 0.05, 0.1, 0}, {"ES", 0.04, 0.7, 0},
      {"CA", 0.04, 0.1, 0.05}, {"ID", 0.04, 0, 0.8}, {"PH", 0.03, 0, 0.9}, {"IT", 0.03, 0.2, 0},
      {"AU", 0.03, 0, 0.05},   {"JP", 0.03, 0, 0.6}, {"KR", 0.02, 0, 1.0}, {"AR", 0.02, 1.0, 0},
      {"SE", 0.02, 0, 0},      {"NL", 0.02, 0, 0},   {"PL", 0.02, 0, 0},   {"TR", 0.02, 0, 0},
      {"NG", 0.01, 0, 0},      {"ZA", 0.01, 0, 0},   {"EE", 0.002, 0, 0},  {"IS", 0.0015, 0, 0},
      {"LU", 0.001, 0, 0},     {"MT", 0.001, 0, 0},
  };
  return c;
}

double clamp01(double x) { return std::clamp(x, 0.0, 1.0); }
double logit(double p) { return std::log(p / (1.0 - p)); }
double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }
// A [0, 1] audio feature around a genre mean, spread on the logit scale.
double audio(double mean, double shift, double spread, Rng& r) {
  return clamp01(sigmoid(logit(std::clamp(mean, 0.02, 0.98)) + shift + spread * r.normal()));
}

template <class T>
std::vector<double> shares(const std::vector<T>& v) {
  std::vector<double> w;
  for (const T& x : v) w.push_back(x.share);
  return w;
}

gen::Table make_tracks(int64_t n_items, uint64_t seed) {
  const auto& G = genres();
  const std::vector<double> genre_w = shares(G);

  // Artists: a genre, a home subgenre, an era, a sound of their own and a (skewed) following.
  struct Artist {
    size_t genre, sub;
    double year, dance, energy, valence, acoustic, popularity, weight;
  };
  const int64_t n_artists = std::max<int64_t>(8, n_items / 4);
  std::vector<Artist> artists(n_artists);
  Rng ra = Rng::stream(seed, "spotify:artists");
  for (Artist& a : artists) {
    a.genre = ra.choice(genre_w);
    a.sub = static_cast<size_t>(ra.below(static_cast<int64_t>(G[a.genre].subgenres.size())));
    a.year = G[a.genre].year + 9.0 * ra.normal();
    a.dance = 0.5 * ra.normal();
    a.energy = 0.5 * ra.normal();
    a.valence = 0.5 * ra.normal();
    a.acoustic = 0.5 * ra.normal();
    const double fame = ra.normal();
    a.popularity = std::clamp(std::round(48.0 + 17.0 * fame + 4.0 * ra.normal()), 0.0, 100.0);
    a.weight = std::exp(0.5 * fame + 0.6 * ra.normal());  // popular artists release more tracks
  }
  std::vector<double> artist_w;
  for (const Artist& a : artists) artist_w.push_back(a.weight);

  gen::Table t;
  t.id_column = "track_id";
  t.id_prefix = "T";
  gen::Column& genre = t.add_categorical("genre");
  gen::Column& subgenre = t.add_categorical("subgenre");
  gen::Column& artist = t.add_categorical("artist");
  gen::Column& artist_pop = t.add_numerical("artist_popularity", 0);
  gen::Column& dance = t.add_numerical("danceability", 3);
  gen::Column& energy = t.add_numerical("energy", 3);
  gen::Column& valence = t.add_numerical("valence", 3);
  gen::Column& acoustic = t.add_numerical("acousticness", 3, 0.01);
  gen::Column& tempo = t.add_numerical("tempo", 1, 0.02);
  gen::Column& mode = t.add_categorical("mode");
  gen::Column& expl = t.add_categorical("explicit");
  gen::Column& year = t.add_numerical("release_year", 0, 0.03);
  gen::Column& duration = t.add_numerical("duration_ms", 0);

  Rng r = Rng::stream(seed, "spotify:tracks");
  for (int64_t i = 0; i < n_items; ++i) {
    const Artist& a = artists[r.choice(artist_w)];
    // Mostly the artist's genre and subgenre; sometimes a crossover.
    const size_t g = r.bernoulli(0.92) ? a.genre : r.choice(genre_w);
    const Genre& gg = G[g];
    const size_t sub = (g == a.genre && r.bernoulli(0.8))
                           ? a.sub
                           : static_cast<size_t>(r.below(static_cast<int64_t>(gg.subgenres.size())));
    genre.cat.push_back(gg.name);
    subgenre.cat.push_back(gg.subgenres[sub]);
    artist.cat.push_back("artist_" + std::to_string(&a - artists.data() + 1));
    artist_pop.num.push_back(a.popularity);
    const double e = audio(gg.energy, a.energy, 0.55, r);
    energy.num.push_back(e);
    dance.num.push_back(audio(gg.dance, a.dance, 0.5, r));
    const double v = audio(gg.valence, a.valence, 0.6, r);
    valence.num.push_back(v);
    // Acoustic tracks are quieter: acousticness falls as energy rises within a genre.
    acoustic.num.push_back(audio(gg.acoustic, a.acoustic - 1.2 * (e - gg.energy), 0.6, r));
    tempo.num.push_back(std::clamp(gg.tempo + 18.0 * r.normal(), 55.0, 210.0));
    mode.cat.push_back(r.bernoulli(0.45 + 0.35 * v) ? "major" : "minor");
    expl.cat.push_back(r.bernoulli(gg.explicit_rate) ? "true" : "false");
    year.num.push_back(std::min(2024.0, std::round(a.year + 3.0 * r.normal())));
    duration.num.push_back(std::round(1000.0 * gg.duration_s * r.lognormal(0.0, 0.22)));
  }
  return t;
}

gen::Table make_listeners(int64_t n_users, uint64_t seed) {
  const auto& G = genres();
  const auto& C = countries();
  const std::vector<double> country_w = shares(C);

  gen::Table t;
  t.id_column = "user_id";
  t.id_prefix = "U";
  gen::Column& age = t.add_numerical("age", 0, 0.03);
  gen::Column& gender = t.add_categorical("gender");
  gen::Column& country = t.add_categorical("country");
  gen::Column& premium = t.add_categorical("premium");
  gen::Column& account_age = t.add_numerical("account_age_days", 0);
  gen::Column& hours = t.add_numerical("listening_hours_per_week", 1, 0.05);
  gen::Column& device = t.add_categorical("preferred_device");
  gen::Column& favourite = t.add_categorical("favorite_genre", 0.15);  // onboarding question, often skipped
  gen::Column& playlists = t.add_numerical("playlists_created", 0, 0.02);

  static const std::vector<const char*> kGenders = {"female", "male", "non-binary", "unspecified"};
  static const std::vector<double> kGenderW = {0.47, 0.47, 0.015, 0.045};
  static const std::vector<const char*> kPlans = {"free", "individual", "student", "family", "duo"};
  static const std::vector<const char*> kDevices = {"mobile", "desktop",  "smart_speaker", "car",
                                                    "tv",     "wearable", "console"};

  Rng r = Rng::stream(seed, "spotify:listeners");
  for (int64_t u = 0; u < n_users; ++u) {
    const double a = std::min(80.0, std::round(13.0 + r.gamma(2.2, 8.0)));
    age.num.push_back(a);
    gender.cat.push_back(kGenders[r.choice(kGenderW)]);
    const Country& c = C[r.choice(country_w)];
    country.cat.push_back(c.code);

    const bool young = a < 25;
    const std::vector<double> plan_w = {0.55, 0.25, young ? 0.22 : 0.02, a > 30 ? 0.12 : 0.05, 0.03};
    const size_t plan = r.choice(plan_w);
    premium.cat.push_back(kPlans[plan]);
    // Accounts are no older than the service (about 16 years) or than the listener's early teens.
    account_age.num.push_back(std::min({(a - 12.0) * 365.0, 5800.0, std::round(r.exponential(900.0))}));
    hours.num.push_back(std::min(100.0, r.lognormal(std::log(7.0) + (plan ? 0.4 : 0.0) - 0.006 * (a - 30), 0.7)));
    const std::vector<double> device_w = {
        a < 35 ? 0.68 : 0.5, 0.18, a > 35 ? 0.12 : 0.05, a > 25 ? 0.07 : 0.02, 0.04, 0.012, young ? 0.02 : 0.004};
    device.cat.push_back(kDevices[r.choice(device_w)]);

    // Favourite genre: catalogue shares tilted by age and region.
    std::vector<double> fav_w;
    for (const Genre& g : G) {
      const std::string n = g.name;
      double w = g.share;
      const double older = std::clamp((a - 30.0) / 20.0, -1.0, 2.0);
      if (n == "hip-hop" || n == "k-pop" || n == "electronic") w *= std::exp(-0.6 * older);
      if (n == "rock" || n == "jazz" || n == "classical" || n == "country" || n == "folk") w *= std::exp(0.6 * older);
      if (n == "latin" || n == "reggae") w *= std::exp(1.8 * c.latin);
      if (n == "k-pop") w *= std::exp(2.5 * c.asian);
      fav_w.push_back(w);
    }
    favourite.cat.push_back(G[r.choice(fav_w)].name);
    playlists.num.push_back(std::floor(r.lognormal(std::log(2.5) + 0.3 * std::log(hours.num.back() / 7.0), 0.9)));
  }
  return t;
}

class SpotifyPreset : public Preset {
 public:
  std::string name() const override { return "spotify"; }
  std::string summary() const override {
    return "music streaming: listeners (age, country, plan, habits, favourite genre) x tracks (genre, artist, audio "
           "features)";
  }

  gen::Spec build(const GenerateOptions& options) const override {
    // 160,000 pairs -> 10,000 listeners (16 each on average) and 3,500 tracks; the catalogue grows
    // with the square root of the data so small test sets stay rankable.
    const PresetSize size = preset_size(name(), options.pairs, 10000.0, 3500.0);
    const int64_t n_users = size.users, n_items = size.items;

    gen::Spec s;
    s.preset = name();
    s.description =
        "Synthetic music-streaming data. Listeners have demographics, a subscription plan, listening habits and "
        "(often skipped) favourite genre; tracks have genre, subgenre, artist, artist popularity and audio "
        "features. A listener's taste vector is a function of their features (favourite genre shared with the "
        "track genre embedding, age on an era axis shared with release year, country, plan, device, habits, "
        "age x country and device x listening-hours interactions) plus a hidden component of per-listener weight; a "
        "track's vector is a "
        "function of its genre, subgenre, artist and audio features (some read differently per genre). Popularity "
        "follows artist popularity, "
        "genre and recency. Listeners draw tracks without replacement from a softmax over "
        "taste . track + popularity; activity grows with listening hours.";
    s.items = make_tracks(n_items, options.seed);
    s.users = make_listeners(n_users, options.seed);

    gen::Model& m = s.model;
    m.dim = 16;
    using gen::cross;
    using gen::curve;
    using gen::embed;
    using gen::linear;
    m.user = {
        embed("favorite_genre", 0.8, "genre"),
        linear("age", 0.6, "era"),
        curve("age", 0.4),
        linear("age", -0.3, "mainstream"),
        embed("country", 0.6),
        embed("premium", 0.3),
        embed("preferred_device", 0.3),
        embed("gender", 0.25),
        linear("listening_hours_per_week", 0.3, "energy").logged(),
        linear("account_age_days", -0.25, "mainstream"),
        linear("playlists_created", 0.2).logged(),
        cross("age", "country", 0.45),
        cross("preferred_device", "listening_hours_per_week", 0.25),
    };
    m.item = {
        embed("genre", 1.0, "genre"),
        embed("subgenre", 0.6),
        embed("artist", 0.5),
        linear("release_year", -0.6, "era"),
        curve("release_year", 0.3),
        linear("energy", 0.35, "energy"),
        linear("danceability", 0.35),
        linear("valence", 0.3),
        linear("acousticness", 0.3),
        curve("tempo", 0.3),
        cross("genre", "energy", 0.35),  // what "energetic" means differs by genre
        embed("mode", 0.15),
        embed("explicit", 0.25),
        linear("artist_popularity", 0.4, "mainstream"),
        linear("duration_ms", 0.15).logged(),
    };
    m.hidden_scale = 1.0;
    m.hidden_weight_min = 0.3;
    m.hidden_weight_max = 1.5;
    // Popularity in utility units (logit = utility / temperature): about 1.5 logits of spread, which
    // puts 12-16% of plays on the top 1% of tracks.
    m.popularity = {
        linear("artist_popularity", 0.28), embed("genre", 0.10),
        linear("release_year", 0.085),  // newer tracks get played more
    };
    m.popularity_hidden = 0.21;
    m.activity = {
        linear("listening_hours_per_week", 0.6).logged(),
        embed("premium", 0.2),
    };
    m.activity_hidden = 0.8;
    // Calibrated so that, at 160,000 pairs, the oracle's leave-last-out HR@10 is about 0.2-0.3 and
    // two to four times a popularity ranking's.
    m.temperature = 0.25;
    m.min_per_user = 3;
    m.max_user_share = 0.25;
    s.timeline.start = 1672531200;  // 2023-01-01
    s.timeline.days = 365.0;
    return s;
  }
};

}  // namespace

std::unique_ptr<Preset> make_spotify_preset() { return std::make_unique<SpotifyPreset>(); }

}  // namespace ftmamba::data
