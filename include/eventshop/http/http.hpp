// eventshop/http/http.hpp - everything of eventshop::http in one include.
#pragma once

#include "eventshop/http/health.hpp"
#include "eventshop/http/json.hpp"
#include "eventshop/http/message.hpp"
#include "eventshop/http/router.hpp"
#include "eventshop/http/server.hpp"
#include "eventshop/http/static_files.hpp"
