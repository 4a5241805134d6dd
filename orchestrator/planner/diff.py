"""What changed between two plans: moved servers, added/removed servers, changed waves. Pure."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from orchestrator.plan import Plan


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class MovedServer(Frozen):
    name: str
    application: str
    from_wave: int
    to_wave: int


class PlacedServer(Frozen):
    name: str
    application: str
    wave: int


class WaveChange(Frozen):
    index: int
    servers_before: int
    servers_after: int
    joined: tuple[str, ...]
    left: tuple[str, ...]


class PlanDiff(Frozen):
    before: str
    after: str
    same_inputs: bool
    waves_before: int
    waves_after: int
    cross_wave_weight_before: float
    cross_wave_weight_after: float
    moved: tuple[MovedServer, ...]
    added: tuple[PlacedServer, ...]
    removed: tuple[PlacedServer, ...]
    waves: tuple[WaveChange, ...]  # only the waves whose server set changed

    @property
    def unchanged(self) -> bool:
        return not (self.moved or self.added or self.removed or self.waves)


def diff_plans(before: Plan, after: Plan) -> PlanDiff:
    old = {s.name: s for s in before.servers}
    new = {s.name: s for s in after.servers}
    moved = [MovedServer(name=n, application=new[n].application, from_wave=old[n].wave, to_wave=new[n].wave)
             for n in sorted(old.keys() & new.keys()) if old[n].wave != new[n].wave]
    old_waves = {w.index: set(w.servers) for w in before.waves}
    new_waves = {w.index: set(w.servers) for w in after.waves}
    waves = []
    for index in sorted(old_waves.keys() | new_waves.keys()):
        a, b = old_waves.get(index, set()), new_waves.get(index, set())
        if a != b:
            waves.append(WaveChange(index=index, servers_before=len(a), servers_after=len(b),
                                    joined=tuple(sorted(b - a)), left=tuple(sorted(a - b))))
    return PlanDiff(
        before=before.id, after=after.id, same_inputs=before.input_digest == after.input_digest,
        waves_before=len(before.waves), waves_after=len(after.waves),
        cross_wave_weight_before=before.cross_wave_weight, cross_wave_weight_after=after.cross_wave_weight,
        moved=tuple(moved),
        added=tuple(PlacedServer(name=n, application=new[n].application, wave=new[n].wave)
                    for n in sorted(new.keys() - old.keys())),
        removed=tuple(PlacedServer(name=n, application=old[n].application, wave=old[n].wave)
                      for n in sorted(old.keys() - new.keys())),
        waves=tuple(waves),
    )
