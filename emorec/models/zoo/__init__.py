"""The model zoo: every module here declares models with ``@model`` (metadata, parameters and a
factory, in one declaration), and importing :mod:`emorec.models` imports each of them. The
declarations import no torch: a net's factory imports its net (``emorec/models/<family>.py``)
when it is called, so listing models (``emorec models``) and planning a suite stay light."""
