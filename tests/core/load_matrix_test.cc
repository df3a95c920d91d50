#include "eplb/load_matrix.h"

#include <gtest/gtest.h>

#include <cmath>

#include "eplb/error.h"

namespace eplb {
namespace {

TEST(LoadMatrix, RowsKeepLayerIds) {
  LoadMatrix m = LoadMatrix::zeros(4, 2);
  m.layer_ids = {3, 4, 5, 6};
  m.layer(2)[1] = 7;
  const LoadMatrix r = m.rows(1, 3);
  EXPECT_EQ(r.layer_ids, (std::vector<int>{4, 5}));
  EXPECT_EQ(r.layer(1)[1], 7);
  EXPECT_FALSE(r.has_data(0));
  EXPECT_TRUE(r.has_data(1));
  EXPECT_THROW(m.rows(3, 9), Error);
}

TEST(LoadMatrix, ValidateNamesLayerAndExpert) {
  LoadMatrix m = LoadMatrix::zeros(2, 3);
  m.layer_ids = {3, 4};
  m.layer(1)[2] = std::nan("");
  try {
    m.validate("loads.npy");
    FAIL() << "expected eplb::Error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).rfind("loads.npy: layer 4, expert 2: load", 0), 0u) << e.what();
  }
  m.layer(1)[2] = -1;
  EXPECT_THROW(m.validate("loads.npy"), Error);
}

}  // namespace
}  // namespace eplb
