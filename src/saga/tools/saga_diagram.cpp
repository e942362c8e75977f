// eventshop-saga-diagram: prints the order saga's Mermaid state diagram, generated from its
// saga_definition. docs/sagas.md embeds this output; a unit test checks they are identical.
//
//   eventshop-saga-diagram            # the Mermaid text
//   eventshop-saga-diagram --markdown # wrapped in a ```mermaid fence
#include <cstring>
#include <iostream>

#include "eventshop/saga/order_saga.hpp"

int main(int argc, char** argv) {
  bool markdown = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--markdown") == 0) {
      markdown = true;
    } else if (std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0) {
      std::cout << "usage: eventshop-saga-diagram [--markdown]\n"
                   "Prints the order saga as a Mermaid stateDiagram-v2.\n";
      return 0;
    } else {
      std::cerr << "eventshop-saga-diagram: unknown argument '" << argv[i] << "' (try --help)\n";
      return 2;
    }
  }
  const std::string text = eventshop::saga::order_saga::mermaid();
  if (markdown)
    std::cout << "```mermaid\n" << text << "```\n";
  else
    std::cout << text;
  return 0;
}
