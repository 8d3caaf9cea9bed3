// The one error taxonomy of llmcost: every expected failure is an Error with a kind, and the
// CLI turns any failure into one line and an exit code through format_error / exit_code.
#pragma once

#include <exception>
#include <stdexcept>
#include <string>

namespace llmcost {

enum class ErrorKind {
  BadConfig,          // a config's content: names the file, the JSON pointer and what was expected
  BadInput,           // an input that cannot be read or used: missing file, bad option value, unwritable output
  Unsupported,        // well-formed, but not handled (yet): an architecture, a backend, a figure past int64
  DeviceUnavailable,  // no GPU, no driver, no counter permission
  Usage,              // the command line itself (unknown flag, missing argument)
  Internal,           // an invariant of llmcost broke: a bug, not the user's input
};

const char* error_kind_name(ErrorKind k);

// An expected failure. what() is the one line the CLI prints after its prefix.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& msg, ErrorKind kind = ErrorKind::BadInput) : std::runtime_error(msg), kind_(kind) {}
  ErrorKind kind() const { return kind_; }

 private:
  ErrorKind kind_;
};

// Bad content in a config file: "FILE: POINTER WHAT" (POINTER "/" for the whole document).
class ConfigError : public Error {
 public:
  ConfigError(const std::string& file, const std::string& pointer, const std::string& what)
      : Error(file + ": " + (pointer.empty() ? std::string("/") : pointer) + " " + what, ErrorKind::BadConfig),
        file_(file),
        pointer_(pointer) {}
  const std::string& file() const { return file_; }
  const std::string& pointer() const { return pointer_; }

 private:
  std::string file_;
  std::string pointer_;
};

// The line shown to the user for any failure, with its trailing newline:
//   "llmcost: error: ..."           every Error but the two below
//   "llmcost: usage error: ... (run `llmcost --help`)"
//   "llmcost: internal error: ..."  ErrorKind::Internal and exceptions that are not an Error
std::string format_error(const std::exception& e);

// The process exit status for a failure: 2 for usage errors, 1 for every other failure (0 is
// success and never an error).
int exit_code(const std::exception& e);

}  // namespace llmcost
