// Helpers every test suite shares: a scratch directory per test, whole-file reads, fixture
// paths, and the message of the eplb::Error a call throws. Header-only (tests/support is on
// every test binary's include path and is not globbed as a test source).
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>

#include "eplb/error.h"

namespace eplb::testing {

// tests/data/<relative>.
inline std::string test_data(const std::string& relative) {
  return std::string(EPLB_TEST_DATA_DIR) + "/" + relative;
}

inline std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The message of the eplb::Error `call` throws; "(no error)" when it returns.
inline std::string error_of(const std::function<void()>& call) {
  try {
    call();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

// A fresh empty directory for the running test (named after it), removed by the destructor.
class ScratchDir {
 public:
  ScratchDir() {
    static int serial = 0;  // RC_GTEST_PROP builds one per generated case
    std::string name = "eplb_" + std::to_string(getpid()) + "_" + std::to_string(serial++);
    if (const auto* info = ::testing::UnitTest::GetInstance()->current_test_info()) {
      name += std::string("_") + info->test_suite_name() + "_" + info->name();
    }
    for (char& c : name) c = (c == '/') ? '_' : c;
    dir_ = std::filesystem::path(::testing::TempDir()) / name;
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  const std::filesystem::path& dir() const { return dir_; }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  // Writes `content` to <dir>/<name> (creating sub-directories) and returns its path.
  std::string write(const std::string& name, const std::string& content) const {
    const std::filesystem::path path = dir_ / name;
    std::filesystem::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << content;
    return path.string();
  }

 private:
  std::filesystem::path dir_;
};

}  // namespace eplb::testing
