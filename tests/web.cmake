# The web UI's own tests (Vitest unit tests, then browser end-to-end tests with Debian's
# Chromium against a real eventshop-ecommerce). scripts/build-web.sh brings Node >= 20 and the
# npm packages itself (apt + npm only) and takes a lock, so these are safe under ctest -j.
if(EXISTS ${PROJECT_SOURCE_DIR}/examples/ecommerce/web/package.json AND TARGET eventshop-ecommerce)
  add_test(NAME web.build COMMAND ${PROJECT_SOURCE_DIR}/scripts/build-web.sh)
  set_tests_properties(web.build PROPERTIES FIXTURES_SETUP web TIMEOUT 900 LABELS web)
  add_test(NAME web.unit COMMAND ${PROJECT_SOURCE_DIR}/scripts/build-web.sh --test)
  set_tests_properties(web.unit PROPERTIES FIXTURES_REQUIRED web TIMEOUT 300 LABELS web)
  add_test(NAME web.e2e COMMAND ${PROJECT_SOURCE_DIR}/scripts/web-e2e.sh --build-dir ${PROJECT_BINARY_DIR})
  set_tests_properties(web.e2e PROPERTIES FIXTURES_REQUIRED web TIMEOUT 900 RUN_SERIAL TRUE LABELS web)
endif()
