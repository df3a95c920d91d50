#include "eplb/runtime/weight_store.h"

#include <gtest/gtest.h>

#include <cstdint>

#include "eplb/error.h"

namespace eplb {
namespace {

TEST(HostWeightStore, SlotsAndStagingAreDistinctAlignedBuffers) {
  HostWeightStore store(2, 3, 10, 2);
  EXPECT_EQ(store.bytes_per_expert(), 10U);
  EXPECT_EQ(store.num_staging_areas(), 2);
  std::vector<std::byte*> seen;
  for (int l = 0; l < 2; ++l) {
    for (int i = 0; i < 3; ++i) seen.push_back(store.slot_bytes(l, i).data());
  }
  for (int a = 0; a < 2; ++a) {
    for (int i = 0; i < 3; ++i) seen.push_back(store.staging_bytes(a, i).data());
  }
  for (size_t i = 0; i < seen.size(); ++i) {
    EXPECT_EQ(reinterpret_cast<uintptr_t>(seen[i]) % 64, 0U);
    for (size_t j = 0; j < i; ++j) EXPECT_NE(seen[i], seen[j]);
  }
  EXPECT_EQ(store.slot_bytes(1, 2).size(), 10U);
  EXPECT_EQ(store.slot_bytes(1, 2)[9], std::byte{0});
}

TEST(HostWeightStore, CommitCopiesStagingIntoTheSlot) {
  HostWeightStore store(1, 2, 4, 1);
  auto staged = store.staging_bytes(0, 1);
  for (size_t i = 0; i < 4; ++i) staged[i] = std::byte{static_cast<unsigned char>(i + 1)};
  store.commit_slot(0, 1, 0);
  EXPECT_EQ(store.slot_bytes(0, 1)[3], std::byte{4});
  EXPECT_EQ(store.slot_bytes(0, 0)[3], std::byte{0});
}

TEST(HostWeightStore, OutOfRangeIsAnError) {
  EXPECT_THROW(HostWeightStore(0, 1, 4), Error);
  HostWeightStore store(1, 2, 4, 1);
  EXPECT_THROW(store.slot_bytes(1, 0), Error);
  EXPECT_THROW(store.slot_bytes(0, 2), Error);
  EXPECT_THROW(store.staging_bytes(1, 0), Error);
}

}  // namespace
}  // namespace eplb
