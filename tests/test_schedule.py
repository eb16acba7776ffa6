"""The papers'-schedule column: long configs, DRW at the long profile's first decay, and a
chapter that reads stored long runs without training them."""

from lt_lab.book import schedule
from lt_lab.config import make_config
from lt_lab.results import ResultsStore

DRW = {"loss": "class_balanced", "loss_params": {"beta": 0.9999, "drw_start": 0.75}}


def test_drw_switches_on_at_the_long_profiles_first_decay():
    moved = schedule.at_long_schedule(DRW)
    assert moved["loss_params"] == {"beta": 0.9999, "drw_start": 0.8}
    assert DRW["loss_params"]["drw_start"] == 0.75  # the chapter's own dict is untouched
    assert schedule.at_long_schedule({"loss": "focal"}) == {"loss": "focal"}


def test_long_configs_are_the_200_epoch_schedule_on_the_quick_data():
    configs = schedule.long_configs({"CE-DRW": DRW}, [0, 1], imbalance_ratio=100)
    config = configs[("CE-DRW", 1)]
    quick = make_config("quick")
    assert (config.epochs, config.lr, config.warmup_epochs, config.weight_decay) == \
        (200, 0.1, 5, 2e-4)
    assert (config.n_max, config.model, config.precision) == \
        (quick.n_max, quick.model, quick.precision)
    assert config.seed == 1 and config.loss_params["drw_start"] == 0.8


def test_a_chapter_reads_long_runs_and_says_how_to_train_the_missing_ones(tmp_path, capsys):
    store = ResultsStore(tmp_path)
    assert schedule.long_runs({"CE": {}}, [0, 1, 2], store=store) is None
    message = capsys.readouterr().out
    assert "3 of 3 runs are not in the results store" in message
    assert "-p long_schedule True" in message


def test_partial_long_runs_keep_only_the_methods_with_every_seed_stored(tmp_path, capsys):
    from lt_lab.train import fit

    store = ResultsStore(tmp_path)
    (config,) = schedule.long_configs({"CE": {}}, [0], imbalance_ratio=100).values()
    fake = fit(make_config("smoke", epochs=1, imbalance_ratio=10, test_per_class=5), cache=False,
               save=False)  # a stand-in record, filed under the long config's key
    store.save({**fake.record, "key": config.key(), "config": config.to_dict()})
    found = schedule.long_runs({"CE": {}, "focal": {"loss": "focal"}}, [0], partial=True,
                               store=store, imbalance_ratio=100)
    assert list(found) == ["CE"] and found["CE"][0]["key"] == config.key()
    assert "1 of 2 runs are not in the results store" in capsys.readouterr().out
    assert schedule.long_runs({"CE": {}, "focal": {"loss": "focal"}}, [0], store=store,
                              imbalance_ratio=100) is None


def test_long_configs_keep_a_chapters_validation_split_and_classifier_fixes():
    # chapter 3: weight balancing's second stage runs at the end of each long run
    fixes = {"classifier_fixes": {"fixes": ["wb_maxnorm"]}}
    configs = schedule.long_configs({"wd": {"weight_decay": 0.005}, "naive": {"weight_decay": 0.0}},
                                    [0], imbalance_ratio=100, val_per_class=20, analyses=fixes)
    assert list(configs) == [("wd", 0), ("naive", 0)]  # trained in the order listed
    tuned = configs[("wd", 0)]
    assert (tuned.weight_decay, tuned.val_per_class, tuned.epochs) == (0.005, 20, 200)
    assert tuned.analyses == fixes and configs[("naive", 0)].weight_decay == 0.0
