// `llmcost ci record / ci check`: not registered yet (its issue is open).
#include "commands.h"

namespace llmcost::cli {

void register_ci(CLI::App&, Context&) {}

}  // namespace llmcost::cli
