"""Facts beside the result files: what the leaderboard knows of models and datasets without
the model zoo or the data; merged with the rows."""

import json

import pytest

from emorec.errors import DataError
from emorec.models import MODELS
from emorec.store import facts, results


def test_model_facts_say_what_a_row_shows_and_when_it_is_offline():
    gru, seq = MODELS.get("gru").facts(), MODELS.get("seq_video").facts()
    assert gru.columns == ("window", "pooling") and "gru_avg" in gru.thesis_names
    assert seq.columns == () and seq.offline_when == (("direction", "bidirectional"),)
    assert seq.offline({"direction": "bidirectional"})
    assert not seq.offline({"direction": "causal"})


def test_model_facts_read_back_as_they_were_written(tmp_path):
    written = {"gru": MODELS.get("gru").facts(),
               "mine": facts.ModelFacts(offline_when=(("offline", True),), family="external",
                                        modality="external", source="external: mine.csv")}
    facts.write_models(tmp_path, written)
    assert facts.load_models(tmp_path) == written


def test_merge_keeps_the_facts_of_every_folder_the_first_one_winning(tmp_path):
    first, second, out = tmp_path / "a", tmp_path / "b", tmp_path / "out"
    for folder in (first, second, out):
        folder.mkdir()
    facts.write(first, {"x": {"origin": "real", "label_delay_s": 0.0}}, facts.DATASETS_FILE)
    facts.write(second, {"x": {"origin": "real", "label_delay_s": 9.0},
                         "y": {"origin": "stand-in"}}, facts.DATASETS_FILE)
    facts.write(second, {"m": {"columns": ["window"]}}, facts.MODELS_FILE)
    results.merge([first, second], out)
    assert facts.load_datasets(out) == {"x": {"origin": "real", "label_delay_s": 0.0},
                                        "y": {"origin": "stand-in"}}
    assert facts.load_models(out)["m"].columns == ("window",)


def test_a_broken_facts_file_is_one_clear_error(tmp_path):
    (tmp_path / facts.MODELS_FILE).write_text("{not json")
    with pytest.raises(DataError, match="models.json.*not valid JSON"):
        facts.load_models(tmp_path)
    (tmp_path / facts.MODELS_FILE).write_text(json.dumps(["a list"]))
    with pytest.raises(DataError, match="not a facts file"):
        facts.load_models(tmp_path)
