// The error taxonomy: kinds at the throw sites, the ConfigError line format, and the one line and
// exit code the CLI derives from any failure.
#include <gtest/gtest.h>

#include <stdexcept>

#include "llmcost/error.h"
#include "llmcost/value.h"

namespace llmcost {
namespace {

TEST(Error, ConfigErrorNamesFilePointerAndWhat) {
  ConfigError e("config.json", "/num_experts_per_tok", "must be <= num_local_experts (8), got 9");
  EXPECT_STREQ(e.what(), "config.json: /num_experts_per_tok must be <= num_local_experts (8), got 9");
  EXPECT_EQ(e.kind(), ErrorKind::BadConfig);
  EXPECT_EQ(e.file(), "config.json");
  EXPECT_EQ(e.pointer(), "/num_experts_per_tok");
  EXPECT_STREQ(ConfigError("a.yaml", "", "must be an object").what(), "a.yaml: / must be an object");
}

TEST(Error, DefaultKindIsBadInput) { EXPECT_EQ(Error("x").kind(), ErrorKind::BadInput); }

TEST(Error, OneLineAndExitCodePerKind) {
  EXPECT_EQ(format_error(Error("f.json: cannot read file")), "llmcost: error: f.json: cannot read file\n");
  EXPECT_EQ(format_error(ConfigError("c.json", "/a", "must be a number")), "llmcost: error: c.json: /a must be a number\n");
  EXPECT_EQ(format_error(Error("no GPU", ErrorKind::DeviceUnavailable)), "llmcost: error: no GPU\n");
  EXPECT_EQ(format_error(Error("--x is not known", ErrorKind::Usage)),
            "llmcost: usage error: --x is not known (run `llmcost --help`)\n");
  EXPECT_EQ(format_error(Error("rows", ErrorKind::Internal)), "llmcost: internal error: rows\n");
  EXPECT_EQ(format_error(std::logic_error("vector::at")), "llmcost: internal error: vector::at\n");
  for (ErrorKind k : {ErrorKind::BadConfig, ErrorKind::BadInput, ErrorKind::Unsupported, ErrorKind::DeviceUnavailable,
                      ErrorKind::Internal})
    EXPECT_EQ(exit_code(Error("x", k)), 1) << error_kind_name(k);
  EXPECT_EQ(exit_code(Error("x", ErrorKind::Usage)), 2);
  EXPECT_EQ(exit_code(std::runtime_error("x")), 1);
}

TEST(Error, ThrowSitesCarryTheirKind) {
  try {
    read_text_file("/nonexistent/llmcost/file.json");
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::BadInput);
    EXPECT_STREQ(e.what(), "/nonexistent/llmcost/file.json: cannot read file (No such file or directory)");
  }
  try {
    parse_json("{", "bad.json");
    FAIL() << "expected a ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.kind(), ErrorKind::BadConfig);
    EXPECT_EQ(e.file(), "bad.json");
  }
}

}  // namespace
}  // namespace llmcost
