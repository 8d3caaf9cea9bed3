// `llmcost report`: not registered yet (its issue is open).
#include "commands.h"

namespace llmcost::cli {

void register_report(CLI::App&, Context&) {}

}  // namespace llmcost::cli
