// libFuzzer target: the TensorRT-LLM statistics reader (src/io/trtllm_stats.cc), which reads a
// directory. The input is meta_info.json, a NUL byte, then rank0.safetensors (no NUL: an empty
// rank file); written to a per-process directory under /tmp and read back, without and with a
// --window. scripts/fuzz.sh builds seeds in this layout from tests/data/loads/trtllm_*.
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "eplb/load_reader.h"
#include "fuzz_util.h"

namespace {

// Created on first use, removed at exit (libFuzzer ends with exit()).
const std::string& stats_dir() {
  struct Dir {
    std::string path = "/tmp/eplb_fuzz_trtllm_stats." + std::to_string(getpid());
    Dir() { std::filesystem::create_directories(path); }
    ~Dir() {
      std::error_code ec;
      std::filesystem::remove_all(path, ec);
    }
  };
  static const Dir dir;
  return dir.path;
}

void write(const std::string& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input = eplb::fuzz::as_text(data, size);
  const size_t nul = input.find('\0');
  const std::string_view meta = input.substr(0, nul);
  const std::string_view rank0 =
      nul == std::string_view::npos ? std::string_view() : input.substr(nul + 1);
  const std::string& dir = stats_dir();
  write(dir + "/meta_info.json", meta);
  write(dir + "/rank0.safetensors", rank0);
  eplb::fuzz::expect_parse_or_error([&] { eplb::read_loads(dir); });
  eplb::LoadReadOptions windowed;
  windowed.window = eplb::IndexRange{1, std::nullopt};
  eplb::fuzz::expect_parse_or_error([&] { eplb::read_loads(dir, windowed); });
  return 0;
}
