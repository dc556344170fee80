// defines: the tables of the `hm` preset's catalogue (see hm_catalog.h).
#include "ftmamba/data/presets/hm_catalog.h"

#include <string>

#include "ftmamba/core/error.h"

namespace ftmamba::data::hm_catalog {

const std::vector<GarmentGroup>& garment_groups() {
  static const std::vector<GarmentGroup> g = {
      {1001, "Unknown"},
      {1002, "Jersey Basic"},
      {1003, "Knitwear"},
      {1005, "Jersey Fancy"},
      {1006, "Woven/Jersey/Knitted mix Baby"},
      {1007, "Outdoor"},
      {1008, "Dressed"},
      {1009, "Trousers"},
      {1010, "Blouses"},
      {1011, "Shirts"},
      {1012, "Under-, Nightwear"},
      {1013, "Dresses Ladies"},
      {1014, "Skirts"},
      {1016, "Trousers Denim"},
      {1017, "Shorts"},
      {1018, "Socks and Tights"},
      {1019, "Accessories"},
      {1020, "Shoes"},
      {1021, "Special Offers"},
      {1023, "Swimwear"},
      {1025, "Dresses/Skirts girls"},
  };
  return g;
}

const GarmentGroup& garment_group(int no) {
  for (const GarmentGroup& g : garment_groups())
    if (g.no == no) return g;
  throw Error("hm preset: no garment group " + std::to_string(no));
}

const std::vector<ProductType>& product_types() {
  // clang-format off
  static const std::vector<ProductType> t = {
      {255, "T-shirt", kUpper, 0.20, 0.016, "Jersey Basic", 1002, 1005, "tee"},
      {254, "Top", kUpper, 0.16, 0.020, "Jersey Fancy", 1005, 1002, "top"},
      {253, "Vest top", kUpper, 0.09, 0.012, "Jersey Basic", 1002, 1005, "vest top"},
      {252, "Sweater", kUpper, 0.15, 0.033, "Knitwear", 1003, 0, "jumper"},
      {259, "Shirt", kUpper, 0.06, 0.030, "Shirt", 1011, 0, "shirt"},
      {258, "Blouse", kUpper, 0.10, 0.030, "Blouse", 1010, 0, "blouse"},
      {245, "Hoodie", kUpper, 0.06, 0.030, "Jersey Fancy", 1005, 0, "hoodie"},
      {264, "Cardigan", kUpper, 0.03, 0.034, "Knitwear", 1003, 0, "cardigan"},
      {260, "Jacket", kUpper, 0.07, 0.050, "Outdoor", 1007, 1008, "jacket"},
      {262, "Coat", kUpper, 0.025, 0.085, "Outdoor", 1007, 0, "coat"},
      {263, "Blazer", kUpper, 0.025, 0.050, "Tailoring", 1008, 0, "blazer"},
      {256, "Polo shirt", kUpper, 0.01, 0.020, "Jersey Basic", 1002, 0, "polo"},
      {272, "Trousers", kLower, 0.56, 0.033, "Trousers", 1009, 1016, "trousers"},
      {274, "Shorts", kLower, 0.16, 0.020, "Shorts", 1017, 1016, "shorts"},
      {275, "Skirt", kLower, 0.15, 0.028, "Skirt", 1014, 1025, "skirt"},
      {273, "Leggings/Tights", kLower, 0.13, 0.015, "Jersey Basic", 1002, 1018, "leggings"},
      {265, "Dress", kFull, 0.66, 0.035, "Dresses", 1013, 1025, "dress"},
      {267, "Jumpsuit/Playsuit", kFull, 0.12, 0.033, "Dresses", 1013, 1008, "jumpsuit"},
      {270, "Garment Set", kFull, 0.18, 0.022, "Sets", 1006, 1002, "set"},
      {268, "Dungarees", kFull, 0.04, 0.025, "Trousers", 1009, 1006, "dungarees"},
      {66, "Bag", kAccessories, 0.13, 0.025, "Bags", 1019, 0, "bag"},
      {72, "Earring", kAccessories, 0.20, 0.010, "Jewellery", 1019, 0, "earrings"},
      {87, "Hat/beanie", kAccessories, 0.15, 0.012, "Headwear", 1019, 0, "beanie"},
      {80, "Scarf", kAccessories, 0.09, 0.015, "Accessories", 1019, 0, "scarf"},
      {74, "Necklace", kAccessories, 0.11, 0.012, "Jewellery", 1019, 0, "necklace"},
      {77, "Hair clip", kAccessories, 0.13, 0.007, "Hair Accessories", 1019, 0, "hair clip"},
      {83, "Sunglasses", kAccessories, 0.06, 0.012, "Accessories", 1019, 0, "sunglasses"},
      {67, "Belt", kAccessories, 0.07, 0.014, "Accessories", 1019, 0, "belt"},
      {71, "Gloves", kAccessories, 0.04, 0.012, "Accessories", 1019, 0, "gloves"},
      {306, "Bra", kUnderwear, 0.45, 0.025, "Lingerie", 1012, 0, "bra"},
      {286, "Underwear bottom", kUnderwear, 0.45, 0.010, "Lingerie", 1012, 0, "briefs"},
      {298, "Underwear body", kUnderwear, 0.10, 0.025, "Lingerie", 1012, 0, "body"},
      {94, "Sneakers", kShoes, 0.33, 0.040, "Shoes", 1020, 0, "trainers"},
      {93, "Boots", kShoes, 0.22, 0.060, "Shoes", 1020, 0, "boots"},
      {92, "Sandals", kShoes, 0.20, 0.030, "Shoes", 1020, 0, "sandals"},
      {95, "Ballerinas", kShoes, 0.08, 0.030, "Shoes", 1020, 0, "ballerinas"},
      {96, "Other shoe", kShoes, 0.17, 0.035, "Shoes", 1020, 0, "shoes"},
      {59, "Swimwear bottom", kSwimwear, 0.40, 0.015, "Swimwear", 1023, 0, "bikini bottoms"},
      {60, "Bikini top", kSwimwear, 0.35, 0.018, "Swimwear", 1023, 0, "bikini top"},
      {57, "Swimsuit", kSwimwear, 0.25, 0.025, "Swimwear", 1023, 0, "swimsuit"},
      {302, "Socks", kSocks, 0.70, 0.009, "Socks", 1018, 0, "socks"},
      {304, "Underwear Tights", kSocks, 0.30, 0.012, "Tights", 1018, 0, "tights"},
      {308, "Pyjama set", kNightwear, 0.70, 0.030, "Nightwear", 1012, 0, "pyjamas"},
      {309, "Night gown", kNightwear, 0.15, 0.025, "Nightwear", 1012, 0, "nightdress"},
      {310, "Pyjama bottom", kNightwear, 0.15, 0.020, "Nightwear", 1012, 0, "pyjama bottoms"},
  };
  // clang-format on
  return t;
}

const std::vector<Index>& indexes() {
  static const std::vector<Index> i = {
      {'A', "Ladieswear", 1, "Ladieswear"},
      {'B', "Lingeries/Tights", 1, "Ladieswear"},
      {'C', "Ladies Accessories", 1, "Ladieswear"},
      {'D', "Divided", 2, "Divided"},
      {'F', "Menswear", 3, "Menswear"},
      {'G', "Baby Sizes 50-98", 4, "Baby/Children"},
      {'H', "Children Sizes 92-140", 4, "Baby/Children"},
      {'I', "Children Sizes 134-170", 4, "Baby/Children"},
      {'J', "Children Accessories, Swimwear", 4, "Baby/Children"},
      {'S', "Sport", 26, "Sport"},
  };
  return i;
}

const Index& index_of(char code) {
  for (const Index& i : indexes())
    if (i.code == code) return i;
  throw Error(std::string("hm preset: no index ") + code);
}

const std::vector<Section>& sections() {
  // clang-format off
  static const std::vector<Section> s = {
      //  no  name                              idx  share  Upper Lower Full Acc  Under Shoes Swim Socks Night  price dark light bright
      {15, "Womens Everyday Collection",        'A', 0.070, {0.50, 0.25, 0.20, 0,   0,    0.05, 0,   0,    0},    1.0, 1.0, 1.0, 1.0},
      {16, "Womens Everyday Basics",            'A', 0.030, {0.60, 0.30, 0.10, 0,   0,    0,    0,   0,    0},    0.8, 1.3, 1.2, 0.5},
      {11, "Womens Tailoring",                  'A', 0.050, {0.45, 0.35, 0.20, 0,   0,    0,    0,   0,    0},    1.3, 1.4, 0.9, 0.6},
      {18, "Womens Trend",                      'A', 0.035, {0.50, 0.20, 0.30, 0,   0,    0,    0,   0,    0},    1.1, 0.9, 1.0, 1.6},
      {66, "Womens Casual",                     'A', 0.030, {0.55, 0.30, 0.15, 0,   0,    0,    0,   0,    0},    1.0, 1.0, 1.1, 1.0},
      {61, "Womens Lingerie",                   'B', 0.040, {0,    0,    0,    0,   1.0,  0,    0,   0,    0},    1.0, 1.2, 1.3, 0.7},
      {62, "Womens Nightwear, Socks & Tigh",    'B', 0.025, {0,    0,    0,    0,   0,    0,    0,   0.50, 0.50}, 0.9, 1.2, 1.2, 0.7},
      {60, "Womens Swimwear, beachwear",        'B', 0.020, {0,    0,    0.15, 0,   0,    0,    0.85,0,    0},    1.0, 0.8, 1.0, 1.8},
      {64, "Womens Small accessories",          'C', 0.045, {0,    0,    0,    1.0, 0,    0,    0,   0,    0},    1.0, 1.0, 1.0, 1.0},
      {82, "Womens Big accessories",            'C', 0.015, {0,    0,    0,    1.0, 0,    0,    0,   0,    0},    1.4, 1.3, 0.9, 0.7},
      {31, "Womens Shoes",                      'C', 0.025, {0,    0,    0,    0,   0,    1.0,  0,   0,    0},    1.2, 1.4, 1.0, 0.6},
      {53, "Divided Collection",                'D', 0.060, {0.50, 0.30, 0.20, 0,   0,    0,    0,   0,    0},    0.8, 1.1, 1.0, 1.3},
      {51, "Divided Basics",                    'D', 0.020, {0.70, 0.30, 0,    0,   0,    0,    0,   0,    0},    0.7, 1.3, 1.2, 0.6},
      {52, "Divided Projects",                  'D', 0.015, {0.50, 0.20, 0.30, 0,   0,    0,    0,   0,    0},    0.8, 0.9, 1.0, 1.8},
      {50, "Divided Accessories",               'D', 0.020, {0,    0,    0,    0.80,0,    0.20, 0,   0,    0},    0.7, 1.0, 1.0, 1.3},
      {57, "Divided Selected",                  'D', 0.010, {0.40, 0.30, 0.30, 0,   0,    0,    0,   0,    0},    0.9, 1.0, 1.0, 1.2},
      {21, "Contemporary Casual",               'F', 0.030, {0.70, 0.30, 0,    0,   0,    0,    0,   0,    0},    1.0, 1.4, 0.8, 0.6},
      {20, "Contemporary Smart",                'F', 0.020, {0.60, 0.40, 0,    0,   0,    0,    0,   0,    0},    1.2, 1.6, 0.7, 0.4},
      {22, "Contemporary Street",               'F', 0.020, {0.70, 0.30, 0,    0,   0,    0,    0,   0,    0},    0.9, 1.3, 0.8, 0.9},
      {26, "Men Underwear",                     'F', 0.015, {0,    0,    0,    0,   0.60, 0,    0,   0.30, 0.10}, 0.9, 1.5, 0.8, 0.6},
      {25, "Men Accessories",                   'F', 0.015, {0,    0,    0,    0.70,0,    0.30, 0,   0,    0},    1.0, 1.5, 0.8, 0.5},
      {23, "Men Suits & Tailoring",             'F', 0.008, {0.60, 0.40, 0,    0,   0,    0,    0,   0,    0},    1.6, 1.8, 0.6, 0.3},
      {44, "Baby Essentials & Complements",     'G', 0.030, {0.25, 0.15, 0.50, 0,   0,    0,    0,   0.10, 0},    0.6, 0.6, 1.8, 1.0},
      {41, "Baby Girl",                         'G', 0.020, {0.40, 0.20, 0.40, 0,   0,    0,    0,   0,    0},    0.7, 0.5, 1.9, 1.1},
      {40, "Baby Boy",                          'G', 0.015, {0.50, 0.30, 0.20, 0,   0,    0,    0,   0,    0},    0.7, 0.8, 1.6, 1.0},
      {42, "Kids Girl",                         'H', 0.035, {0.45, 0.25, 0.30, 0,   0,    0,    0,   0,    0},    0.7, 0.6, 1.6, 1.4},
      {46, "Kids Boy",                          'H', 0.025, {0.60, 0.40, 0,    0,   0,    0,    0,   0,    0},    0.7, 1.0, 1.1, 1.3},
      {43, "Young Girl",                        'I', 0.020, {0.50, 0.30, 0.20, 0,   0,    0,    0,   0,    0},    0.8, 0.8, 1.4, 1.3},
      {45, "Young Boy",                         'I', 0.015, {0.60, 0.40, 0,    0,   0,    0,    0,   0,    0},    0.8, 1.2, 0.9, 1.1},
      {47, "Kids Accessories, Swimwear & D",    'J', 0.020, {0,    0,    0,    0.50,0,    0,    0.30,0.20, 0},    0.6, 0.8, 1.4, 1.4},
      {5, "Ladies H&M Sport",                   'S', 0.015, {0.50, 0.40, 0,    0,   0.10, 0,    0,   0,    0},    1.1, 1.3, 0.9, 1.2},
      {8, "Men H&M Sport",                      'S', 0.008, {0.60, 0.40, 0,    0,   0,    0,    0,   0,    0},    1.1, 1.5, 0.7, 0.9},
  };
  // clang-format on
  return s;
}

const std::vector<Colour>& colours() {
  // clang-format off
  static const std::vector<Colour> c = {
      {9, "Black", 0.20, "Black", 5, "Dark", kDark},
      {10, "White", 0.09, "White", 9, "Light", kLight},
      {73, "Dark Blue", 0.08, "Blue", 2, "Dark", kDark},
      {7, "Grey", 0.03, "Grey", 12, "Medium Dusty", kNeutral},
      {6, "Light Grey", 0.02, "Grey", 12, "Dusty Light", kLight},
      {8, "Dark Grey", 0.02, "Grey", 12, "Dark", kDark},
      {11, "Off White", 0.04, "White", 9, "Dusty Light", kLight},
      {12, "Light Beige", 0.03, "Beige", 11, "Dusty Light", kLight},
      {13, "Beige", 0.03, "Beige", 11, "Medium Dusty", kNeutral},
      {15, "Dark Beige", 0.012, "Beige", 11, "Dark", kDark},
      {71, "Light Blue", 0.04, "Blue", 2, "Light", kLight},
      {72, "Blue", 0.03, "Blue", 2, "Medium", kNeutral},
      {51, "Light Pink", 0.035, "Pink", 4, "Light", kLight},
      {52, "Pink", 0.03, "Pink", 4, "Medium", kBright},
      {53, "Dark Pink", 0.01, "Pink", 4, "Dark", kBright},
      {42, "Red", 0.025, "Red", 18, "Bright", kBright},
      {43, "Dark Red", 0.012, "Red", 18, "Dark", kDark},
      {19, "Greenish Khaki", 0.012, "Khaki green", 20, "Medium Dusty", kNeutral},
      {62, "Dark Green", 0.015, "Green", 19, "Dark", kDark},
      {61, "Green", 0.008, "Green", 19, "Medium", kBright},
      {21, "Light Yellow", 0.008, "Yellow", 8, "Light", kLight},
      {23, "Dark Yellow", 0.01, "Yellow", 8, "Medium Dusty", kNeutral},
      {31, "Orange", 0.006, "Orange", 3, "Bright", kBright},
      {81, "Light Turquoise", 0.006, "Turquoise", 15, "Light", kLight},
      {91, "Light Purple", 0.005, "Lilac Purple", 13, "Dusty Light", kLight},
      {93, "Dark Purple", 0.004, "Lilac Purple", 13, "Dark", kDark},
      {3, "Silver", 0.005, "Metal", 7, "Light", kNeutral},
      {5, "Gold", 0.006, "Metal", 7, "Bright", kNeutral},
  };
  // clang-format on
  return c;
}

const std::vector<ColourValue>& colour_values() {
  static const std::vector<ColourValue> v = {{1, "Dusty Light"}, {2, "Medium Dusty"}, {3, "Light"},     {4, "Dark"},
                                             {5, "Bright"},      {7, "Medium"},       {-1, "Undefined"}};
  return v;
}

const std::vector<Appearance>& appearances() {
  static const std::vector<Appearance> a = {
      {1010016, "Solid", 0.46},
      {1010001, "All over pattern", 0.14},
      {1010010, "Melange", 0.05},
      {1010017, "Stripe", 0.045},
      {1010023, "Denim", 0.01},
      {1010008, "Front print", 0.035},
      {1010014, "Placement print", 0.02},
      {1010004, "Check", 0.02},
      {1010005, "Colour blocking", 0.01},
      {1010012, "Dot", 0.01},
      {1010021, "Lace", 0.01},
      {1010026, "Other structure", 0.015},
      {1010002, "Application/3D", 0.01},
      {1010007, "Embroidery", 0.008},
      {1010018, "Sequin", 0.004},
  };
  return a;
}

}  // namespace ftmamba::data::hm_catalog
