// Shared by the CLI tests: a scratch directory per test and a way to run the real llmcost
// binary (LLMCOST_BIN) in it, capturing exit code, stdout and stderr.
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace llmcost_test {

namespace fs = std::filesystem;

struct CliRun {
  int code = -1;  // exit status, -1 when the process did not exit normally
  std::string out, err;
};

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("llmcost_cli_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->test_suite_name() + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  static std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  // Runs `llmcost ARGS` (shell words, already quoted where needed) with the scratch
  // directory as working directory and no standard input.
  CliRun run(const std::string& args) const {
    const fs::path out = dir_ / "stdout.txt", err = dir_ / "stderr.txt";
    std::string cmd = "cd '" + dir_.string() + "' && '" + std::string(LLMCOST_BIN) + "' " + args + " >'" + out.string() +
                      "' 2>'" + err.string() + "' </dev/null";
    int status = std::system(cmd.c_str());
    CliRun r;
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.out = slurp(out);
    r.err = slurp(err);
    return r;
  }

  // Absolute path of a file in the scratch directory.
  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  // Writes a file in the scratch directory (creating parents); returns its absolute path.
  std::string write_file(const std::string& name, const std::string& text) const {
    fs::path p = dir_ / name;
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << text;
    return p.string();
  }

  fs::path dir_;
};

}  // namespace llmcost_test
