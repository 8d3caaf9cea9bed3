// `llmcost run`: not registered yet (its issue is open).
#include "commands.h"

namespace llmcost::cli {

void register_run(CLI::App&, Context&) {}

}  // namespace llmcost::cli
