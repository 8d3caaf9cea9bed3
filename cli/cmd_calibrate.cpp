// `llmcost calibrate`: not registered yet (its issue is open).
#include "commands.h"

namespace llmcost::cli {

void register_calibrate(CLI::App&, Context&) {}

}  // namespace llmcost::cli
