// llmcost: command-line entry point. Exit codes: 0 ok, 1 failure, 2 usage error (llmcost/error.h).
// The app itself is cli/app.cpp (shared with the Python package's console script).
#include "commands.h"

int main(int argc, char** argv) { return llmcost::cli::run_main(argc, argv); }
