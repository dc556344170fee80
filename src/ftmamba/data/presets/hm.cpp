// defines: the `hm` preset: fashion retail with the H&M Kaggle competition's files and column names
// (customers, articles, transactions with t_dat, price and sales_channel_id) and a latent taste model.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ftmamba/core/error.h"
#include "ftmamba/data/presets/hm_catalog.h"
#include "ftmamba/data/presets/preset.h"
#include "ftmamba/data/timestamp.h"

namespace ftmamba::data {
namespace {

using gen::Rng;

using namespace hm_catalog;  // the catalogue's vocabulary

template <class T>
std::vector<double> shares(const std::vector<T>& v) {
  std::vector<double> w;
  for (const T& x : v) w.push_back(x.share);
  return w;
}

// A lowercase 64-hex-digit string (H&M's ids and postal codes are SHA-256 hashes): deterministic in
// the seed and key.
std::string hex64(uint64_t seed, const std::string& key) {
  Rng r = Rng::stream(seed, key);
  std::string out;
  for (int k = 0; k < 4; ++k) out += fmt::format("{:016x}", r.bits());
  return out;
}

// An article with what the transactions need beyond the written columns.
struct Articles {
  gen::Table table;
  std::vector<double> price;  // per article
};

Articles make_articles(int64_t n_items, uint64_t seed) {
  const auto& types = product_types();
  const auto& secs = sections();
  const auto& cols = colours();
  const auto& apps = appearances();
  const std::vector<double> section_w = shares(secs);
  const std::vector<double> appearance_w = shares(apps);

  Articles out;
  gen::Table& t = out.table;
  t.id_column = "article_id";
  // Kaggle's column order: every name beside its code.
  gen::Column& product_code = t.add_extra("product_code");
  gen::Column& prod_name = t.add_extra("prod_name");
  gen::Column& type_no = t.add_extra("product_type_no");
  gen::Column& type_name = t.add_categorical("product_type_name");
  gen::Column& group_name = t.add_categorical("product_group_name");
  gen::Column& appearance_no = t.add_extra("graphical_appearance_no");
  gen::Column& appearance_name = t.add_categorical("graphical_appearance_name");
  gen::Column& colour_code = t.add_extra("colour_group_code");
  gen::Column& colour_name = t.add_categorical("colour_group_name");
  gen::Column& value_id = t.add_extra("perceived_colour_value_id");
  gen::Column& value_name = t.add_categorical("perceived_colour_value_name");
  gen::Column& master_id = t.add_extra("perceived_colour_master_id");
  gen::Column& master_name = t.add_categorical("perceived_colour_master_name");
  gen::Column& department_no = t.add_extra("department_no");
  gen::Column& department_name = t.add_categorical("department_name");
  gen::Column& index_code = t.add_extra("index_code");
  gen::Column& index_name = t.add_categorical("index_name");
  gen::Column& index_group_no = t.add_extra("index_group_no");
  gen::Column& index_group_name = t.add_categorical("index_group_name");
  gen::Column& section_no = t.add_extra("section_no");
  gen::Column& section_name = t.add_categorical("section_name");
  gen::Column& garment_no = t.add_extra("garment_group_no");
  gen::Column& garment_name = t.add_categorical("garment_group_name");
  gen::Column& detail_desc = t.add_extra("detail_desc", 0.004);

  // Department numbers: one per (section, department kind), four digits like H&M's.
  std::map<std::string, int> dept_kinds;
  for (const ProductType& p : types) dept_kinds.emplace(p.dept, 0);
  int k = 0;
  for (auto& [name, no] : dept_kinds) no = ++k;

  Rng r = Rng::stream(seed, "hm:articles");
  std::vector<std::string> ids;
  int64_t code = 108000 + r.below(2000);
  while (static_cast<int64_t>(ids.size()) < n_items) {
    // A product: section, type, name, description, price level; then its colour variants.
    code += 1 + r.below(static_cast<int64_t>(1 + 1700000 / std::max<int64_t>(n_items, 1)));
    code = std::min<int64_t>(code, 999999);
    const Section& s = secs[r.choice(section_w)];
    const Group g = static_cast<Group>(r.choice(s.mix));
    std::vector<double> type_w;
    for (const ProductType& p : types) type_w.push_back(p.group == g ? p.share : 0.0);
    const ProductType& p = types[r.choice(type_w)];
    const bool kids = s.index >= 'G' && s.index <= 'J';
    int garment = p.garment;
    if (kids && (g == kUpper || g == kLower || g == kFull) && r.bernoulli(s.index == 'G' ? 0.7 : 0.2))
      garment = g == kFull && s.index != 'G' ? 1025 : 1006;
    else if (p.alt && r.bernoulli(0.3))
      garment = p.alt;
    if (r.bernoulli(0.01)) garment = 1001;
    if (r.bernoulli(0.015)) garment = 1021;
    const GarmentGroup& gg = garment_group(garment);
    const Index& ix = index_of(s.index);
    const std::string name = std::string(kNames[r.below(std::size(kNames))]) + " " + [&] {
      const std::string st = kStyles[r.below(std::size(kStyles))];
      return st.empty() ? st : st + " ";
    }() + p.noun;
    const std::string desc =
        std::string(p.name) + " in " + kMaterials[g][r.below(3)] + " with " + kDetails[g][r.below(3)] + ".";
    const double base_price =
        std::clamp(p.price * s.price * r.lognormal(0.0, 0.35), 0.0008, 0.5);  // shared by the variants
    size_t appearance = r.choice(appearance_w);
    if (garment == 1016 || (p.no == 260 && r.bernoulli(0.15))) appearance = 4;  // denim is denim
    std::vector<double> colour_w;
    for (const Colour& c : cols)
      colour_w.push_back(c.share * (c.tone == kDark     ? s.dark
                                    : c.tone == kLight  ? s.light
                                    : c.tone == kBright ? s.bright
                                                        : 1.0));
    // 1 to 6 colourways; most products come in one or two.
    const int64_t variants = std::min<int64_t>(n_items - static_cast<int64_t>(ids.size()),
                                               1 + std::min<int64_t>(5, static_cast<int64_t>(r.exponential(1.1))));
    int variant = 1 + static_cast<int>(r.below(3));
    std::vector<size_t> used;
    for (int64_t v = 0; v < variants; ++v) {
      size_t ci = r.choice(colour_w);
      for (int tries = 0; tries < 8 && std::find(used.begin(), used.end(), ci) != used.end(); ++tries)
        ci = r.choice(colour_w);
      used.push_back(ci);
      const Colour& c = cols[ci];
      // The perceived value is usually the colour's own; sometimes a neighbour, rarely undefined.
      std::string value = c.value;
      if (r.bernoulli(0.01))
        value = "Undefined";
      else if (r.bernoulli(0.1))
        value = colour_values()[r.below(6)].name;
      int vid = 0;
      for (const ColourValue& cv : colour_values())
        if (value == cv.name) vid = cv.id;

      ids.push_back(fmt::format("0{:06d}{:03d}", code, variant));
      variant += 1 + static_cast<int>(r.below(4));
      product_code.cat.push_back(fmt::format("{:07d}", code));
      prod_name.cat.push_back(name);
      type_no.cat.push_back(std::to_string(p.no));
      type_name.cat.push_back(p.name);
      group_name.cat.push_back(kGroupNames[g]);
      appearance_no.cat.push_back(std::to_string(apps[appearance].no));
      appearance_name.cat.push_back(apps[appearance].name);
      colour_code.cat.push_back(std::to_string(c.code));
      colour_name.cat.push_back(c.name);
      value_id.cat.push_back(std::to_string(vid));
      value_name.cat.push_back(value);
      master_id.cat.push_back(std::to_string(c.master_id));
      master_name.cat.push_back(c.master);
      department_no.cat.push_back(std::to_string(1000 + 100 * s.no + dept_kinds.at(p.dept)));
      department_name.cat.push_back(p.dept);
      index_code.cat.push_back(std::string(1, ix.code));
      index_name.cat.push_back(ix.name);
      index_group_no.cat.push_back(std::to_string(ix.group_no));
      index_group_name.cat.push_back(ix.group_name);
      section_no.cat.push_back(std::to_string(s.no));
      section_name.cat.push_back(s.name);
      garment_no.cat.push_back(std::to_string(gg.no));
      garment_name.cat.push_back(gg.name);
      detail_desc.cat.push_back(desc);
      out.price.push_back(base_price * r.lognormal(0.0, 0.05));
    }
  }
  auto shared_ids = std::make_shared<const std::vector<std::string>>(std::move(ids));
  t.id_format = [shared_ids](int64_t row) { return (*shared_ids)[row]; };
  return out;
}

gen::Table make_customers(int64_t n_users, uint64_t seed) {
  gen::Table t;
  t.id_column = "customer_id";
  gen::Column& fn = t.add_categorical("FN");
  fn.blank_level = true;  // "1.0" or nothing, as in the Kaggle file
  gen::Column& active = t.add_categorical("Active");
  active.blank_level = true;
  gen::Column& club = t.add_categorical("club_member_status", 0.0045);
  gen::Column& news = t.add_categorical("fashion_news_frequency", 0.012);
  gen::Column& age = t.add_numerical("age", 0, 0.012);
  gen::Column& postal = t.add_categorical("postal_code");

  // Postal codes: a few hundred to a couple of thousand, heavily skewed (one code is far more common
  // than the rest, as in the Kaggle file).
  const int64_t n_codes = std::max<int64_t>(40, n_users / 6);
  std::vector<std::string> codes(n_codes);
  std::vector<double> code_w(n_codes);
  for (int64_t c = 0; c < n_codes; ++c) {
    codes[c] = hex64(seed, "hm:postal:" + std::to_string(c));
    code_w[c] = 1.0 / std::pow(static_cast<double>(c) + 3.0, 1.05);
  }
  code_w[0] *= 2.0;

  Rng r = Rng::stream(seed, "hm:customers");
  for (int64_t u = 0; u < n_users; ++u) {
    // Two age modes, like the Kaggle customers: early twenties and around fifty.
    const double a = r.bernoulli(0.42) ? 16.0 + r.gamma(3.0, 2.3) : std::clamp(r.normal(47.0, 11.5), 16.0, 96.0);
    age.num.push_back(std::round(a));
    // Fashion engagement: newsletter, activity and club status follow one latent trait.
    const double engaged = r.normal() + 0.15 * (a < 30 ? 1.0 : 0.0);
    const bool is_fn = r.bernoulli(1.0 / (1.0 + std::exp(-(-0.75 + 1.8 * engaged))));
    fn.cat.push_back(is_fn ? "1.0" : "");
    active.cat.push_back((is_fn ? r.bernoulli(0.95) : r.bernoulli(0.015)) ? "1.0" : "");
    const double u_news = r.uniform();
    news.cat.push_back(is_fn ? (u_news < 0.965   ? "Regularly"
                                : u_news < 0.975 ? "Monthly"
                                                 : "NONE")
                             : (u_news < 0.012   ? "Regularly"
                                : u_news < 0.013 ? "Monthly"
                                                 : "NONE"));
    const double u_club = r.uniform();
    const double pre = is_fn ? 0.02 : 0.09 - 0.03 * engaged;
    club.cat.push_back(u_club < pre ? "PRE-CREATE" : u_club < pre + 0.0012 ? "LEFT CLUB" : "ACTIVE");
    postal.cat.push_back(codes[r.choice(code_w)]);
  }
  std::vector<std::string> ids(n_users);
  for (int64_t u = 0; u < n_users; ++u) ids[u] = hex64(seed, "hm:customer:" + std::to_string(u));
  auto shared_ids = std::make_shared<const std::vector<std::string>>(std::move(ids));
  t.id_format = [shared_ids](int64_t row) { return (*shared_ids)[row]; };
  return t;
}

class HmPreset : public Preset {
 public:
  std::string name() const override { return "hm"; }
  std::string summary() const override {
    return "fashion retail with the H&M Kaggle columns: customers (age, club and newsletter status, postal code) x "
           "articles (product type and group, colour, section, garment group)";
  }

  gen::Spec build(const GenerateOptions& options) const override {
    // 160,000 pairs -> 10,000 customers (16 articles each on average) and 4,000 articles; the catalogue
    // grows with the square root of the data so small test sets stay rankable.
    const PresetSize size = preset_size(name(), options.pairs, 10000.0, 4000.0);
    const int64_t n_users = size.users, n_items = size.items;

    gen::Spec s;
    s.preset = name();
    s.description =
        "Synthetic fashion-retail data with the H&M Personalized Fashion Recommendations (Kaggle) file layout and "
        "column names: customers.csv-like users (FN, Active, club_member_status, fashion_news_frequency, age, hashed "
        "postal_code), articles.csv-like items (product type and group, graphical appearance, colour group and "
        "perceived colour, department, index, index group, section, garment group, with their codes, names and "
        "descriptions) and transactions with t_dat (a date), price and sales_channel_id. A customer's taste vector "
        "follows age (young customers lean to Divided, trend sections and bright colours; older ones to Ladieswear "
        "basics and dark colours), a fashion-engagement axis shared by newsletter, activity and club status and by "
        "trend-led sections, the postal code and a hidden component; an article's vector follows its index group, "
        "section, product type and group, colour and appearance. Popularity follows product group, colour "
        "(black and white sell most) and section. Prices are per article around a product-type level with a little "
        "noise per sale; younger customers buy online (sales_channel_id 2) more often.";
    Articles articles = make_articles(n_items, options.seed);
    s.items = std::move(articles.table);
    s.users = make_customers(n_users, options.seed);

    gen::Model& m = s.model;
    m.dim = 16;
    using gen::cross;
    using gen::curve;
    using gen::embed;
    using gen::levels;
    using gen::linear;
    m.user = {
        linear("age", -1.1, "youth"),
        curve("age", 0.9),
        levels("FN", {{"1.0", 1.0}}, 0.4, "engaged"),
        levels("Active", {{"1.0", 1.0}}, 0.3, "engaged"),
        levels("fashion_news_frequency", {{"Regularly", 1.0}, {"Monthly", 0.6}}, 0.4, "engaged"),
        levels("club_member_status", {{"ACTIVE", 0.2}, {"PRE-CREATE", -0.8}, {"LEFT CLUB", -1.0}}, 0.4, "engaged"),
        embed("club_member_status", 0.2),
        embed("postal_code", 0.9),
        cross("age", "fashion_news_frequency", 0.5),
    };
    m.item = {
        levels("index_group_name",
               {{"Divided", 1.0}, {"Ladieswear", -0.6}, {"Sport", 0.3}, {"Menswear", 0.1}, {"Baby/Children", -0.2}},
               0.8, "youth"),
        levels("section_name",
               {{"Womens Trend", 0.6},
                {"Divided Projects", 0.8},
                {"Divided Collection", 0.5},
                {"Divided Selected", 0.6},
                {"Womens Everyday Basics", -1.0},
                {"Womens Tailoring", -0.6},
                {"Womens Big accessories", -0.4},
                {"Womens Nightwear, Socks & Tigh", -0.5},
                {"Baby Essentials & Complements", -0.5}},
               0.5, "youth"),
        levels("section_name",
               {{"Womens Trend", 1.0},
                {"Divided Projects", 0.8},
                {"Divided Selected", 0.8},
                {"Womens Casual", 0.3},
                {"Womens Everyday Basics", -0.6},
                {"Divided Basics", -0.5},
                {"Men Underwear", -0.5}},
               0.5, "engaged"),
        levels("perceived_colour_value_name",
               {{"Bright", 1.0}, {"Light", 0.4}, {"Medium", 0.2}, {"Dark", -0.4}, {"Medium Dusty", -0.4}}, 0.4,
               "youth"),
        embed("index_group_name", 0.9),
        embed("index_name", 0.45),
        embed("section_name", 0.75),
        embed("product_group_name", 0.6),
        embed("product_type_name", 0.7),
        embed("department_name", 0.3),
        embed("garment_group_name", 0.4),
        embed("colour_group_name", 0.7),
        embed("perceived_colour_master_name", 0.45),
        embed("perceived_colour_value_name", 0.2),
        embed("graphical_appearance_name", 0.45),
        cross("index_group_name", "product_group_name", 0.6),
    };
    m.hidden_scale = 1.0;
    m.hidden_weight_min = 0.3;
    m.hidden_weight_max = 1.5;
    m.popularity = {
        levels("product_group_name",
               {{"Garment Upper body", 1.0},
                {"Garment Lower body", 0.6},
                {"Underwear", 0.4},
                {"Garment Full body", 0.3},
                {"Swimwear", 0.2},
                {"Socks & Tights", 0.1},
                {"Accessories", -0.3},
                {"Nightwear", -0.5},
                {"Shoes", -0.8}},
               0.12),
        levels("colour_group_name", {{"Black", 1.0}, {"White", 0.7}, {"Dark Blue", 0.3}, {"Light Beige", 0.2}}, 0.12),
        embed("section_name", 0.08),
        levels("index_group_name", {{"Ladieswear", 0.4}, {"Divided", 0.3}, {"Baby/Children", -0.8}, {"Sport", -0.5}},
               0.08),
    };
    m.popularity_hidden = 0.22;
    m.activity = {
        levels("FN", {{"1.0", 1.0}}, 0.3),
        levels("club_member_status", {{"ACTIVE", 1.0}}, 0.15),
    };
    m.activity_hidden = 0.9;
    // Calibrated so that, at 160,000 pairs and seed 1, the oracle's leave-last-out HR@10 is about 0.21,
    // three times a popularity ranking's, with about 14% of purchases on the top 1% of articles.
    m.temperature = 0.3;
    m.min_per_user = 3;
    m.max_user_share = 0.25;
    // The Kaggle transactions run from 2018-09-20 to 2020-09-22.
    s.timeline.start = static_cast<int64_t>(days_from_civil(2018, 9, 20)) * 86400;
    s.timeline.days = static_cast<double>(days_from_civil(2020, 9, 23) - days_from_civil(2018, 9, 20));
    s.timeline.join_share = 0.6;

    // Transactions: t_dat first, then the ids, the price paid and the channel (2 = online).
    s.interactions.timestamp_column = "t_dat";
    s.interactions.time = gen::InteractionFormat::Time::Date;
    s.interactions.timestamp_first = true;
    auto price = std::make_shared<const std::vector<double>>(std::move(articles.price));
    s.interactions.extra.push_back({"price", 4, [price](int64_t, int64_t item, Rng& r) {
                                      // Small noise per sale; now and then a markdown.
                                      double p = (*price)[item] * r.lognormal(0.0, 0.03);
                                      if (r.bernoulli(0.12)) p *= r.uniform(0.5, 0.8);
                                      return std::max(p, 0.0002);
                                    }});
    auto ages = std::make_shared<const std::vector<double>>(s.users.column("age").num);
    s.interactions.extra.push_back({"sales_channel_id", 0, [ages](int64_t user, int64_t, Rng& r) {
                                      const double a = (*ages)[user];
                                      const double p_online = 1.0 / (1.0 + std::exp(-(0.9 - 0.045 * (a - 35.0))));
                                      return r.bernoulli(p_online) ? 2.0 : 1.0;
                                    }});
    return s;
  }
};

}  // namespace

std::unique_ptr<Preset> make_hm_preset() { return std::make_unique<HmPreset>(); }

}  // namespace ftmamba::data
