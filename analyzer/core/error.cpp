// Error kinds by name, and the one place a failure becomes a user-facing line and an exit code.
#include "llmcost/error.h"

#include "llmcost/config_reader.h"

namespace llmcost {

namespace {
ErrorKind kind_of(const std::exception& e) {
  const auto* err = dynamic_cast<const Error*>(&e);
  return err ? err->kind() : ErrorKind::Internal;
}
}  // namespace

const char* error_kind_name(ErrorKind k) {
  switch (k) {
    case ErrorKind::BadConfig: return "bad config";
    case ErrorKind::BadInput: return "bad input";
    case ErrorKind::Unsupported: return "unsupported";
    case ErrorKind::DeviceUnavailable: return "device unavailable";
    case ErrorKind::Usage: return "usage";
    case ErrorKind::Internal: return "internal";
  }
  return "?";
}

std::string format_error(const std::exception& e) {
  // One line, whatever text from an input file the message carries.
  const std::string what = escape_control_chars(e.what());
  switch (kind_of(e)) {
    case ErrorKind::Usage: return "llmcost: usage error: " + what + " (run `llmcost --help`)\n";
    case ErrorKind::Internal: return "llmcost: internal error: " + what + "\n";
    default: return "llmcost: error: " + what + "\n";
  }
}

int exit_code(const std::exception& e) { return kind_of(e) == ErrorKind::Usage ? 2 : 1; }

}  // namespace llmcost
