# Descent Lab for a lecture hall or a department server (README "Run it for a class"):
#   docker build -t descent-lab .
#   docker run --rm -p 8501:8501 descent-lab        # then open http://<this machine>:8501/
FROM python:3.11-slim-bookworm

# Debian's Chromium renders the PNG/SVG/GIF/MP4 exports (kaleido finds /usr/bin/chromium), with a
# font for their text.
RUN apt-get update \
 && apt-get install -y --no-install-recommends chromium fonts-dejavu-core \
 && rm -rf /var/lib/apt/lists/*

# glibc's malloc with few arenas, and large blocks (a chart's JSON) mapped on their own: memory a
# closed session frees goes back to the system (bench/load.py SERVING_ENV, measured with these).
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MALLOC_ARENA_MAX=2 \
    MALLOC_MMAP_THRESHOLD_=131072 \
    MALLOC_TRIM_THRESHOLD_=131072

WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt

# The app's files belong to root and are only read; the app runs as its own user, whose home holds
# the compiled kernels' cache.
COPY . .
RUN useradd --create-home --uid 10001 lab
USER lab

EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=4).read().strip() != b'ok')"]
# serve.py is `streamlit run app.py` (see its docstring); .streamlit/config.toml holds the serving
# settings; every interface, as a container needs.
CMD ["python", "serve.py", "--server.address", "0.0.0.0"]
