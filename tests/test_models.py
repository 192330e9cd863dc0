"""Embedded model preparation: checksums, generated inference.yml, nothing in site-packages."""

import dataclasses

import onnxruntime
import pytest
import yaml

from app.recognition import models


def test_prepared_directories_hold_checked_models_and_generated_configs(tmp_path):
    detection, recognition = models.prepare_embedded_models(tmp_path)
    for prepared, embedded in ((detection, models.DETECTION), (recognition, models.RECOGNITION)):
        directory = tmp_path / prepared.model_dir.rsplit("/", 1)[1]
        assert directory.parent == tmp_path
        assert models.sha256_of(directory / "inference.onnx") == embedded.sha256
        config = yaml.safe_load((directory / "inference.yml").read_text(encoding="utf-8"))
        assert config["Global"]["model_name"] == embedded.model_name
    rec_config = yaml.safe_load((tmp_path / recognition.model_dir.rsplit("/", 1)[1] / "inference.yml").read_text("utf-8"))
    session = onnxruntime.InferenceSession(str(models.rapidocr_models_dir() / models.RECOGNITION.filename))
    characters = session.get_modelmeta().custom_metadata_map["character"].split("\n")
    assert rec_config["PostProcess"]["character_dict"] == characters
    assert len(characters) > 10000 and "A" in characters


def test_preparing_twice_reuses_the_directory(tmp_path):
    first = models.prepare_embedded_models(tmp_path)
    second = models.prepare_embedded_models(tmp_path)
    assert first == second
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.model_dir.rsplit("/", 1)[1] for p in first)


def test_checksum_mismatch_refuses_with_a_clear_message(tmp_path):
    tampered = dataclasses.replace(models.DETECTION, sha256="0" * 64)
    with pytest.raises(models.ModelError, match="expected 0{64}.*rapidocr==3.10.0"):
        models.prepare_model(tampered, tmp_path, models.detection_config())
    assert not any(tmp_path.iterdir())


def test_site_packages_is_never_written(tmp_path):
    source_dir = models.rapidocr_models_dir()
    before = {p.name: p.stat().st_mtime_ns for p in source_dir.iterdir()}
    models.prepare_embedded_models(tmp_path)
    assert {p.name: p.stat().st_mtime_ns for p in source_dir.iterdir()} == before
