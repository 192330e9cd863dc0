"""Input loading: fetching urls and decoding images into pages."""
