"""Stamping: command-line answers -> rendered, validated files (a new site's stack file, a jurisdiction profile).

One module per concern: `request` (what is asked), `addresses` (the address plan), `pools` (pools sized to the
envelope), `site` (the stamp, its rendering and writing), `jurisdiction` (a profile skeleton).
"""
