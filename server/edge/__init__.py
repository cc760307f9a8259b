"""The edge: what a beacon or a `recordEvents` call says becomes typed events or rejections,
screened (crawlers, rates, signatures) before anything is counted."""
