// defines: the vocabulary of the `hm` preset's catalogue, after the H&M Kaggle competition's articles.csv:
// product groups and types, index and section codes, colours, appearances and the words of names and
// descriptions, each with the share of the catalogue it takes. Data only; hm.cpp draws from it.
#pragma once
#include <vector>

namespace ftmamba::data::hm_catalog {

// Product groups, in the order the sections' mixes below use.
enum Group { kUpper, kLower, kFull, kAccessories, kUnderwear, kShoes, kSwimwear, kSocks, kNightwear, kGroups };
inline constexpr const char* kGroupNames[kGroups] = {"Garment Upper body", "Garment Lower body", "Garment Full body",
                                                     "Accessories",        "Underwear",          "Shoes",
                                                     "Swimwear",           "Socks & Tights",     "Nightwear"};

struct GarmentGroup {
  int no;
  const char* name;
};
const std::vector<GarmentGroup>& garment_groups();
const GarmentGroup& garment_group(int no);

struct ProductType {
  int no;
  const char* name;
  Group group;
  double share;      // within its product group
  double price;      // typical price on the Kaggle scale (about 0.005 to 0.5)
  const char* dept;  // department kind (the department is this within a section)
  int garment, alt;  // garment group, and a second one it is sometimes filed under (0: none)
  const char* noun;  // the end of a prod_name
};
const std::vector<ProductType>& product_types();

struct Index {
  char code;
  const char* name;
  int group_no;
  const char* group_name;
};
const std::vector<Index>& indexes();
const Index& index_of(char code);

struct Section {
  int no;
  const char* name;
  char index;
  double share;                // of the catalogue
  std::vector<double> mix;     // product-group weights, in Group order
  double price;                // price level relative to the product type's
  double dark, light, bright;  // colour leanings: multipliers for dark, light/pastel and bright colours
};
const std::vector<Section>& sections();

enum Tone { kDark, kLight, kBright, kNeutral };
struct Colour {
  int code;
  const char* name;
  double share;
  const char* master;
  int master_id;
  const char* value;  // the usual perceived colour value
  Tone tone;
};
const std::vector<Colour>& colours();

struct ColourValue {
  int id;
  const char* name;
};
const std::vector<ColourValue>& colour_values();

struct Appearance {
  int no;
  const char* name;
  double share;
};
const std::vector<Appearance>& appearances();

inline constexpr const char* kNames[] = {
    "Tilly", "Jade", "Luna", "Pia",  "Mia",   "Bella", "Ella",   "Sara",  "Nora",  "Alva",  "Ivy",
    "Tom",   "Max",  "Leo",  "Hugo", "Otto",  "Vera",  "Iris",   "Maja",  "Elsa",  "Greta", "Filip",
    "Noah",  "Liam", "Kim",  "Ada",  "Cleo",  "Dina",  "Edith",  "Freja", "Hanna", "Ines",  "Joy",
    "Kaia",  "Lola", "Moa",  "Nova", "Olive", "Ruby",  "Stella", "Tess",  "Una",   "Wilma", "Zoe",
    "Bodil", "Carl", "Erik", "Gus",  "Harry", "Ivar",  "Jack",   "Karl",  "Lukas", "Milo"};
inline constexpr const char* kStyles[] = {"",       "",          "",      "slim",   "relaxed",  "wide",
                                          "skinny", "oversized", "HW",    "soft",   "basic",    "cropped",
                                          "fitted", "long",      "short", "ribbed", "printed",  "2-pack",
                                          "3-pack", "linen",     "denim", "mom",    "straight", "flared"};
inline constexpr const char* kMaterials[kGroups][3] = {
    {"soft cotton jersey", "fine-knit fabric", "woven viscose fabric"},
    {"stretch denim", "woven fabric", "soft jersey"},
    {"woven viscose fabric", "soft jersey", "airy cotton weave"},
    {"metal", "imitation leather", "knitted fabric"},
    {"microfibre", "lace", "soft cotton jersey"},
    {"imitation leather", "canvas", "suede"},
    {"recycled polyamide", "textured fabric", "stretch fabric"},
    {"fine-knit fabric", "soft cotton blend", "sheer nylon"},
    {"soft cotton jersey", "woven cotton fabric", "satin"},
};
inline constexpr const char* kDetails[kGroups][3] = {
    {"a round neckline and short sleeves", "long sleeves and ribbing at the hems",
     "a collar and buttons down the front"},
    {"a high waist and zip fly", "an elasticated waist and side pockets", "straight legs and a regular fit"},
    {"a V-neck and a flared skirt", "short puff sleeves and a tie belt", "narrow shoulder straps"},
    {"a lobster clasp", "an adjustable strap", "a decorative detail"},
    {"underwired cups", "a lace trim at the waist", "a low waist and lined gusset"},
    {"a padded footbed", "a block heel and a zip at the side", "lacing at the front"},
    {"a tie at the sides", "lined cups and adjustable straps", "a scoop back"},
    {"an elasticated top", "reinforced toes and heels", "a soft cuff"},
    {"a button placket and piping", "an elasticated drawstring waist", "short sleeves and shorts"},
};

}  // namespace ftmamba::data::hm_catalog
