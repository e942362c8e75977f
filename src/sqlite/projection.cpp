// sqlite::projection_runner: read a batch, then apply it and move the checkpoint in one unit of
// work on the target database.
#include "eventshop/sqlite/projection.hpp"

namespace eventshop::sqlite {

std::int64_t projection_runner::position(const projection& p) {
  auto uow = target_.begin();
  const auto pos = uow.checkpoint(p.name());
  uow.rollback();
  return pos;
}

std::size_t projection_runner::catch_up(projection& p) {
  const auto name = p.name();
  p.setup(target_);
  std::size_t applied = 0;
  for (;;) {
    const std::int64_t from = position(p);
    // Read outside the unit of work: the source may be a store on this same database.
    const auto batch = source_.read_all(from, batch_);
    if (batch.empty()) return applied;
    auto uow = target_.begin();
    // Another runner (thread or process) may have moved on meanwhile: skip what it applied.
    const std::int64_t now = uow.checkpoint(name);
    std::int64_t pos = now;
    for (const auto& e : batch) {
      if (e.position <= now) continue;
      p.handle(uow, e);  // throws: the whole batch rolls back, checkpoint unchanged
      pos = e.position;
      ++applied;
    }
    uow.set_checkpoint(name, pos);
    uow.commit();
  }
}

std::size_t projection_runner::rebuild(projection& p) {
  p.setup(target_);
  {
    auto uow = target_.begin();
    p.reset(uow);
    uow.set_checkpoint(p.name(), 0);
    uow.commit();
  }
  return catch_up(p);
}

}  // namespace eventshop::sqlite
