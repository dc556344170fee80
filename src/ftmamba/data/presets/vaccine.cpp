// defines: the `vaccine` preset: recipients of vaccine messaging (demographics, attitude, trust in
// sources) liking messages (topic, tone, source, format, length, reading level, language).
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

struct Level {
  const char* name;
  double share;
};

std::vector<double> weights(const std::vector<Level>& v) {
  std::vector<double> w;
  for (const Level& x : v) w.push_back(x.share);
  return w;
}

const std::vector<Level> kGenders = {
    {"female", 0.51}, {"male", 0.47}, {"non-binary", 0.01}, {"prefer not to say", 0.01}};
const std::vector<Level> kRaces = {
    {"White", 0.59},           {"Hispanic or Latino", 0.18}, {"Black", 0.12}, {"Asian", 0.06}, {"Multiracial", 0.03},
    {"American Indian", 0.01}, {"Pacific Islander", 0.002}};
const std::vector<Level> kEducation = {{"less than high school", 0.09},
                                       {"high school", 0.27},
                                       {"some college", 0.28},
                                       {"bachelor's degree", 0.22},
                                       {"graduate degree", 0.14}};
const std::vector<Level> kRegions = {
    {"New England", 0.05},         {"Middle Atlantic", 0.12}, {"East North Central", 0.14},
    {"West North Central", 0.065}, {"South Atlantic", 0.20},  {"East South Central", 0.06},
    {"West South Central", 0.12},  {"Mountain", 0.075},       {"Pacific", 0.16}};
const std::vector<Level> kPolitics = {
    {"very liberal", 0.1}, {"liberal", 0.2}, {"moderate", 0.36}, {"conservative", 0.22}, {"very conservative", 0.12}};
const char* const kAttitudes[] = {"enthusiastic", "accepting", "hesitant", "resistant"};

const std::vector<Level> kTopics = {
    {"safety", 0.16},          {"efficacy", 0.13},     {"side effects", 0.12},         {"community protection", 0.12},
    {"personal story", 0.12},  {"myth busting", 0.10}, {"access and logistics", 0.10}, {"kids and family", 0.08},
    {"high-risk groups", 0.07}};
const std::vector<Level> kTones = {
    {"factual", 0.30}, {"emotional", 0.18}, {"humorous", 0.10}, {"urgent", 0.15}, {"reassuring", 0.27}};
const std::vector<Level> kSources = {{"doctor", 0.22},    {"health agency", 0.20}, {"community leader", 0.14},
                                     {"celebrity", 0.09}, {"peer", 0.23},          {"pharmacist", 0.12}};
const std::vector<Level> kFormats = {{"text", 0.30}, {"image", 0.30}, {"video", 0.25}, {"infographic", 0.15}};

double clamp_score(double x) { return std::clamp(std::round(x), 0.0, 10.0); }

gen::Table make_recipients(int64_t n_users, uint64_t seed) {
  gen::Table t;
  t.id_column = "recipient_id";
  t.id_prefix = std::string("R");  // not a literal: GCC 12 -O3 warns (falsely) on assigning one
  gen::Column& age = t.add_numerical("age", 0, 0.02);
  gen::Column& gender = t.add_categorical("gender");
  gen::Column& race = t.add_categorical("race_ethnicity", 0.03);
  gen::Column& education = t.add_categorical("education", 0.02);
  gen::Column& region = t.add_categorical("region");
  gen::Column& politics = t.add_categorical("political_leaning", 0.07);  // "prefer not to say"
  gen::Column& attitude = t.add_categorical("vaccine_attitude");
  gen::Column& trust_doctors = t.add_numerical("trust_doctors", 0, 0.01);
  gen::Column& trust_government = t.add_numerical("trust_government", 0, 0.02);
  gen::Column& trust_news = t.add_numerical("trust_news_media", 0, 0.02);
  gen::Column& trust_circle = t.add_numerical("trust_friends_family", 0, 0.01);
  gen::Column& trust_social = t.add_numerical("trust_social_media", 0, 0.02);
  gen::Column& children = t.add_categorical("has_children");
  gen::Column& chronic = t.add_categorical("chronic_condition", 0.03);
  gen::Column& language = t.add_categorical("preferred_language");

  Rng r = Rng::stream(seed, "vaccine:recipients");
  for (int64_t u = 0; u < n_users; ++u) {
    const double a = std::clamp(std::round(18.0 + r.gamma(2.4, 10.5)), 18.0, 92.0);
    age.num.push_back(a);
    gender.cat.push_back(kGenders[r.choice(weights(kGenders))].name);
    const size_t race_k = r.choice(weights(kRaces));
    race.cat.push_back(kRaces[race_k].name);
    const size_t edu = r.choice(weights(kEducation));
    education.cat.push_back(kEducation[edu].name);
    region.cat.push_back(kRegions[r.choice(weights(kRegions))].name);
    const size_t pol = r.choice(weights(kPolitics));
    politics.cat.push_back(kPolitics[pol].name);
    // Institutional trust: higher with education and on the left, one latent trait behind the trust
    // scores and the attitude.
    const double left = 1.0 - 0.5 * static_cast<double>(pol);  // +1 very liberal .. -1 very conservative
    const double trust = r.normal() + 0.45 * left + 0.18 * (static_cast<double>(edu) - 2.0) + 0.01 * (a - 45.0);
    const double readiness = trust + 0.6 * r.normal() + 0.012 * (a - 45.0);
    attitude.cat.push_back(kAttitudes[readiness > 0.45 ? 0 : readiness > -0.35 ? 1 : readiness > -1.1 ? 2 : 3]);
    trust_doctors.num.push_back(clamp_score(6.8 + 1.5 * trust + 1.2 * r.normal()));
    trust_government.num.push_back(clamp_score(4.6 + 1.6 * trust + 0.6 * left + 1.3 * r.normal()));
    trust_news.num.push_back(clamp_score(4.4 + 1.2 * trust + 0.9 * left + 1.4 * r.normal()));
    trust_circle.num.push_back(clamp_score(7.2 + 0.3 * trust + 1.4 * r.normal()));
    trust_social.num.push_back(clamp_score(3.6 - 0.5 * trust - 0.05 * (a - 40.0) + 1.6 * r.normal()));
    children.cat.push_back(r.bernoulli(a < 25 ? 0.15 : a < 60 ? 0.55 : 0.25) ? "yes" : "no");
    chronic.cat.push_back(r.bernoulli(0.08 + 0.006 * (a - 18.0)) ? "yes" : "no");
    const bool hispanic = race_k == 1;
    language.cat.push_back(r.bernoulli(hispanic ? 0.38 : 0.015) ? "Spanish" : "English");
  }
  return t;
}

gen::Table make_messages(int64_t n_items, uint64_t seed) {
  gen::Table t;
  t.id_column = "message_id";
  t.id_prefix = std::string("M");
  gen::Column& topic = t.add_categorical("topic");
  gen::Column& tone = t.add_categorical("tone");
  gen::Column& source = t.add_categorical("source");
  gen::Column& format = t.add_categorical("format");
  gen::Column& length = t.add_numerical("length_words", 0);
  gen::Column& reading = t.add_numerical("reading_level", 1);
  gen::Column& language = t.add_categorical("language");

  Rng r = Rng::stream(seed, "vaccine:messages");
  for (int64_t i = 0; i < n_items; ++i) {
    const std::string tp = kTopics[r.choice(weights(kTopics))].name;
    // Tone and source lean on the topic: personal stories come from peers and community leaders, myth
    // busting from doctors and agencies, logistics in an urgent voice.
    std::vector<double> tone_w = weights(kTones), source_w = weights(kSources);
    if (tp == "personal story") {
      tone_w = {0.05, 0.5, 0.05, 0.05, 0.35};
      source_w = {0.1, 0.02, 0.3, 0.08, 0.45, 0.05};
    } else if (tp == "myth busting") {
      tone_w = {0.5, 0.05, 0.2, 0.05, 0.2};
      source_w = {0.4, 0.3, 0.05, 0.05, 0.05, 0.15};
    } else if (tp == "access and logistics") {
      tone_w = {0.4, 0.02, 0.08, 0.4, 0.1};
      source_w = {0.1, 0.4, 0.2, 0.02, 0.08, 0.2};
    } else if (tp == "side effects" || tp == "safety") {
      source_w = {0.35, 0.25, 0.08, 0.04, 0.13, 0.15};
    }
    const size_t tn = r.choice(tone_w);
    const size_t src = r.choice(source_w);
    std::vector<double> format_w = weights(kFormats);
    if (std::string(kSources[src].name) == "celebrity") format_w = {0.05, 0.3, 0.6, 0.05};
    const size_t fm = r.choice(format_w);
    topic.cat.push_back(tp);
    tone.cat.push_back(kTones[tn].name);
    source.cat.push_back(kSources[src].name);
    format.cat.push_back(kFormats[fm].name);
    static constexpr double kWords[] = {140.0, 28.0, 90.0, 60.0};  // video: the script
    length.num.push_back(std::max(5.0, std::round(kWords[fm] * r.lognormal(0.0, 0.45))));
    // Agencies and factual messages read harder; stories, peers and humour easier.
    double grade = 8.0 + 1.8 * r.normal();
    if (kSources[src].name == std::string("health agency") || kSources[src].name == std::string("doctor")) grade += 1.5;
    if (kTones[tn].name == std::string("factual")) grade += 1.0;
    if (tp == "personal story" || kSources[src].name == std::string("peer")) grade -= 1.2;
    if (kTones[tn].name == std::string("humorous")) grade -= 1.0;
    reading.num.push_back(std::clamp(grade, 3.0, 17.0));
    language.cat.push_back(r.bernoulli(0.18) ? "Spanish" : "English");
  }
  return t;
}

class VaccinePreset : public Preset {
 public:
  std::string name() const override { return "vaccine"; }
  std::string summary() const override {
    return "vaccine messaging: recipients (demographics, attitude, trust in sources) x messages (topic, tone, "
           "source, format, reading level)";
  }

  gen::Spec build(const GenerateOptions& options) const override {
    // 160,000 pairs -> 10,000 recipients (16 likes each on average) and 2,500 messages; the catalogue
    // grows with the square root of the data so small test sets stay rankable.
    const PresetSize size = preset_size(name(), options.pairs, 10000.0, 2500.0);
    const int64_t n_users = size.users, n_items = size.items;

    gen::Spec s;
    s.preset = name();
    s.description =
        "Synthetic vaccine-messaging data: recipients (age, gender, race/ethnicity, education, region, political "
        "leaning, vaccine attitude, 0-10 trust in doctors, government, news media, friends and family and social "
        "media, children, chronic condition, language) like messages (topic, tone, source, format, length, reading "
        "level, language). Trust scores share an axis with the matching message source (trust in doctors with "
        "doctors and pharmacists, in government with health agencies, in friends and family with peers and "
        "community leaders, in social media with celebrities and video). Attitude meets tone and topic on three "
        "axes: hesitant recipients respond to reassuring personal stories and safety messages, resistant ones "
        "mostly to myth busting, enthusiastic ones to logistics and community protection. Education meets reading "
        "level and length, age meets format (younger: video), children and chronic conditions meet the family and "
        "high-risk topics, and language matches. Enthusiastic and social-media-trusting recipients like more.";
    s.users = make_recipients(n_users, options.seed);
    s.items = make_messages(n_items, options.seed);

    gen::Model& m = s.model;
    m.dim = 16;
    using gen::cross;
    using gen::curve;
    using gen::embed;
    using gen::levels;
    using gen::linear;
    m.user = {
        // Attitude on three axes that tone and topic share.
        levels("vaccine_attitude", {{"hesitant", 1.0}, {"accepting", 0.3}, {"resistant", 0.1}, {"enthusiastic", -0.4}},
               0.9, "reassure"),
        levels("vaccine_attitude", {{"resistant", 1.0}, {"hesitant", 0.4}, {"accepting", -0.3}, {"enthusiastic", -0.6}},
               0.9, "skeptic"),
        levels("vaccine_attitude", {{"enthusiastic", 1.0}, {"accepting", 0.6}, {"hesitant", -0.4}, {"resistant", -1.0}},
               0.8, "ready"),
        embed("vaccine_attitude", 0.3),
        // Trust in a source type, matched to the message's source.
        linear("trust_doctors", 0.55, "src_doctor"),
        linear("trust_government", 0.55, "src_agency"),
        levels("political_leaning",
               {{"very liberal", 1.0}, {"liberal", 0.6}, {"conservative", -0.6}, {"very conservative", -1.0}}, 0.3,
               "src_agency"),
        linear("trust_news_media", 0.3, "src_media"),
        linear("trust_friends_family", 0.5, "src_circle"),
        linear("trust_social_media", 0.55, "src_social"),
        // Education with reading level, age with format, life situation with topic.
        levels("education",
               {{"less than high school", -1.0},
                {"high school", -0.5},
                {"some college", 0.0},
                {"bachelor's degree", 0.6},
                {"graduate degree", 1.0}},
               0.55, "reading"),
        linear("age", -0.55, "visual"),
        curve("age", 0.4),
        levels("has_children", {{"yes", 1.0}}, 0.5, "family"),
        levels("chronic_condition", {{"yes", 1.0}}, 0.4, "risk"),
        linear("age", 0.25, "risk"),
        embed("preferred_language", 0.65, "language"),
        embed("region", 0.3),
        embed("race_ethnicity", 0.25),
        embed("gender", 0.15),
        cross("vaccine_attitude", "political_leaning", 0.3),
    };
    m.item = {
        levels("tone",
               {{"reassuring", 1.0}, {"emotional", 0.5}, {"humorous", 0.1}, {"factual", -0.2}, {"urgent", -0.7}}, 0.5,
               "reassure"),
        levels("topic",
               {{"personal story", 1.0},
                {"side effects", 0.7},
                {"safety", 0.6},
                {"myth busting", 0.1},
                {"access and logistics", -0.5},
                {"community protection", -0.2}},
               0.65, "reassure"),
        levels("topic",
               {{"myth busting", 1.0},
                {"side effects", 0.3},
                {"personal story", 0.2},
                {"community protection", -0.6},
                {"access and logistics", -0.8}},
               0.65, "skeptic"),
        levels("tone", {{"factual", 0.4}, {"urgent", -0.8}, {"humorous", -0.3}}, 0.35, "skeptic"),
        levels("topic",
               {{"access and logistics", 1.0},
                {"community protection", 0.7},
                {"efficacy", 0.4},
                {"kids and family", 0.3},
                {"myth busting", -0.4}},
               0.55, "ready"),
        levels("tone", {{"urgent", 0.7}, {"reassuring", -0.2}}, 0.3, "ready"),
        levels("source", {{"doctor", 1.0}, {"pharmacist", 0.7}}, 0.55, "src_doctor"),
        levels("source", {{"health agency", 1.0}}, 0.55, "src_agency"),
        levels("source", {{"celebrity", 0.6}, {"health agency", 0.3}}, 0.35, "src_media"),
        levels("source", {{"peer", 1.0}, {"community leader", 0.7}}, 0.5, "src_circle"),
        levels("source", {{"celebrity", 1.0}, {"peer", 0.3}}, 0.4, "src_social"),
        levels("format", {{"video", 0.6}, {"image", 0.4}}, 0.2, "src_social"),
        linear("reading_level", 0.5, "reading"),
        linear("length_words", 0.2, "reading").logged(),
        levels("format", {{"video", 1.0}, {"image", 0.6}, {"infographic", 0.2}, {"text", -1.0}}, 0.5, "visual"),
        levels("topic", {{"kids and family", 1.0}}, 0.4, "family"),
        levels("topic", {{"high-risk groups", 1.0}}, 0.4, "risk"),
        embed("language", 0.7, "language"),
        embed("topic", 0.5),
        embed("tone", 0.35),
        embed("source", 0.35),
        embed("format", 0.3),
        cross("topic", "tone", 0.4),
        cross("source", "tone", 0.3),
        curve("reading_level", 0.2),
    };
    m.hidden_scale = 1.0;
    m.hidden_weight_min = 0.3;
    m.hidden_weight_max = 1.3;
    m.popularity = {
        embed("format", 0.1),
        levels("source", {{"celebrity", 1.0}, {"peer", 0.3}}, 0.08),
        embed("topic", 0.08),
        linear("length_words", -0.1).logged(),
    };
    m.popularity_hidden = 0.22;
    m.activity = {
        levels("vaccine_attitude", {{"enthusiastic", 0.6}, {"accepting", 0.3}, {"resistant", -0.6}}, 0.35),
        linear("trust_social_media", 0.3),
    };
    m.activity_hidden = 0.8;
    // Calibrated so that, at 160,000 pairs and seed 1, the oracle's leave-last-out HR@10 is about 0.30,
    // three times a popularity ranking's, with about 14% of likes on the top 1% of messages.
    m.temperature = 0.3;
    m.min_per_user = 3;
    m.max_user_share = 0.25;
    s.timeline.start = 1609459200;  // 2021-01-01, a vaccination campaign year
    s.timeline.days = 365.0;
    return s;
  }
};

}  // namespace

std::unique_ptr<Preset> make_vaccine_preset() { return std::make_unique<VaccinePreset>(); }

}  // namespace ftmamba::data
