// `llmcost predict, hw, plan, compare`: not registered yet (its issue is open).
#include "commands.h"

namespace llmcost::cli {

void register_predict(CLI::App&, Context&) {}

}  // namespace llmcost::cli
