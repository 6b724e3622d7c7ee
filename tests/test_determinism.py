"""Same seed, same results, whatever the placement; another seed, other results."""
import numpy as np

from lava_lite import (LoihiProcessModel, OutPort, OutPortType, Process, RunConfig, RunSteps,
                       implements, tag)
from lava_lite.proc_lib import LIF, Dense, Monitor


class PoissonSource(Process):
    def __init__(self, *, shape, rate, name=None):
        super().__init__(name=name)
        self.s_out = OutPort(shape)
        self.proc_params["rate"] = rate


@implements(proc=PoissonSource)
@tag("floating_pt")
class PoissonSourceModel(LoihiProcessModel):
    s_out = OutPortType(np.float64)

    def run_spk(self):
        self.s_out.send(self.rng.random(self.s_out.shape) < self.proc_params["rate"])


def raster(workers, seed, steps=60):
    rng = np.random.default_rng(3)  # weights: fixed, independent of the run's seed
    sources = [PoissonSource(shape=(20,), rate=0.2, name=f"poisson{k}") for k in range(2)]
    pop = LIF(shape=(30,), du=0.3, dv=0.2, vth=1.0, name="pop")
    recurrent = Dense(weights=rng.normal(0, 0.3, (30, 30)))
    for source in sources:
        dense = Dense(weights=rng.uniform(0, 0.5, (30, 20)))
        source.s_out.connect(dense.s_in)
        dense.a_out.connect(pop.a_in)  # fan-in of three Dense outputs
    pop.s_out.connect(recurrent.s_in)
    recurrent.a_out.connect(pop.a_in)
    monitor = Monitor()
    monitor.probe(pop.s_out, steps)
    monitor.probe(pop.v, steps)
    with pop:
        pop.run(RunSteps(steps), RunConfig(workers=workers, seed=seed))
        data = monitor.get_data()["pop"]
    return data["s_out"], data["v"]


def test_results_do_not_depend_on_placement_and_follow_the_seed():
    spikes, voltages = raster(0, seed=7)
    assert spikes.sum() > 0
    for workers in (1, 2, 3, "per_process"):
        other_spikes, other_v = raster(workers, seed=7)
        np.testing.assert_array_equal(other_spikes, spikes, err_msg=f"workers={workers}")
        np.testing.assert_array_equal(other_v, voltages, err_msg=f"workers={workers}")
    assert not np.array_equal(raster(0, seed=8)[0], spikes)
