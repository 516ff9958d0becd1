"""Pulumi components of the standard AI region; `AiRegion` composes the others."""
