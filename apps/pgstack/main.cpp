#include "cli/app.h"

int main(int argc, char** argv) { return pgstack::cli::run(argc, argv); }
