// The llmcost version, stamped on `--version` and on every JSON document and CI baseline written.
#pragma once

#include <string>

namespace llmcost {

// "0.1.0": project(VERSION) in CMakeLists.txt.
const char* version();
// `git describe --always --dirty --tags` of the source tree when CMake configured it; "" when not
// built from a git checkout.
const char* git_describe();
// "llmcost 0.1.0 (git abc1234)" (the git part only when known): what --version prints.
std::string version_line();
// "0.1.0 (git abc1234)": the `llmcost_version` field of every JSON document llmcost writes.
std::string version_stamp();

}  // namespace llmcost
