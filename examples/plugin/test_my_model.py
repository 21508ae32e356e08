"""A plugin's own tests: each of emorec's checks of its models is one pytest item."""

import frame_ridge  # noqa: F401 - registers frame_ridge
import my_model  # noqa: F401 - registers face_voice_ffnn

from emorec.models.check import parametrize_checks


@parametrize_checks(["frame_ridge", ("face_voice_ffnn", {"epochs": 1})])
def test_my_models(check):
    check()
