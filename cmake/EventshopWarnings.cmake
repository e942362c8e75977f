# eventshop_set_warnings(<target>): the project's warning set, errors when EVENTSHOP_WERROR is on.
function(eventshop_set_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
                                           -Wold-style-cast -Wcast-align -Woverloaded-virtual
                                           # designated initializers of option structs
                                           -Wno-missing-field-initializers)
  if(EVENTSHOP_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

# eventshop_use_asio(<target>): Debian's Boost 1.74 Asio uses std::exchange without including
# <utility>; under g++ 12 and C++20 that fails, so force-include it for targets that use Asio.
function(eventshop_use_asio target)
  target_compile_options(${target} PRIVATE -include utility)
endfunction()
