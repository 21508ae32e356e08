"""How an extracted dataset was made, as `emorec data info` shows it (from its manifest)."""

from __future__ import annotations


def _model(model: dict) -> str:
    weights = model.get("sha256", {})
    main = next((h for n, h in sorted(weights.items()) if not n.endswith(".json")), None)
    revision = f" revision {model['revision'][:12]}" if model.get("revision") else ""
    digest = f" weights sha256 {main[:16]}" if main else ""
    return f"{model['id']} ({model.get('class', '?')}, {model.get('dim', '?')}-d){revision}{digest}"


def extraction_lines(extraction: dict) -> list[str]:
    face, audio, labels = extraction["face"], extraction.get("audio"), extraction["labels"]
    detector = ", ".join(f"{k} {v}" for k, v in face["detector"].items() if k != "name")
    lines = [
        "extracted   by emorec extract at {fps:g} fps on {device}, batch {batch}".format(
            fps=extraction["fps"], device=extraction["device"], batch=extraction["batch_size"]),
        f"  faces     {_model(face['model'])}; largest face of each frame by "
        f"{face['detector']['name']}" + (f" ({detector})" if detector else "")
        + f", margin {face['margin']:g}",
    ]
    if audio:
        model = audio["model"]
        what = (f"openSMILE {model['feature_set']} {model['level']} ({model['dim']} features, "
                f"opensmile {model.get('opensmile', '?')})"
                if "feature_set" in model else f"{_model(model)}; layer {model['layer']}")
        lines.append(f"  speech    {what}, "
                     f"windows {', '.join(f'{w:g}' for w in audio['windows'])} s (hop L/2), "
                     f"{audio['pass']} pass, {model['rate']} Hz")
    else:
        lines.append("  speech    none")
    lines.append(f"  labels    {labels['source']} ({labels['files']}), scale {labels['scale']:g}, "
                 f"delay {labels['delay_s']:g} s")
    recordings = extraction.get("recordings") or {}
    if recordings:
        rates = sorted({r["source_fps"] for r in recordings.values() if r.get("source_fps")})
        offsets = {n: r["audio_offset_s"] for n, r in recordings.items()
                   if r.get("audio_offset_s")}
        lines.append(f"  sources   {len(recordings)} recordings, each identified by its sha256; "
                     + (f"source frame rates {', '.join(f'{r:g}' for r in rates)} fps"
                        if rates else "frame images")
                     + (f"; sound offset from the picture in {len(offsets)} (up to "
                        f"{max(map(abs, offsets.values())):g} s: "
                        f"{', '.join(list(offsets)[:3])}{', ...' if len(offsets) > 3 else ''})"
                        if offsets else ""))
    lines.append("  libraries " + ", ".join(f"{k} {v}" for k, v in
                                           sorted(extraction["libraries"].items())))
    return lines
