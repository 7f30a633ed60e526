# One image recipe for every Songtor service; docker-compose.yml picks the service with
# the SERVICE_MODULE build argument (intake, routing, agency_adapters, reporting).
FROM python:3.11-slim

ARG SERVICE_MODULE
ENV SERVICE_MODULE=${SERVICE_MODULE} \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1

WORKDIR /app
COPY pyproject.toml constraints.txt ./
COPY shared ./shared
COPY services ./services
RUN pip install --no-cache-dir --constraint constraints.txt . \
 && useradd --system --uid 10001 songtor
USER songtor

CMD ["sh", "-c", "exec python -m \"$SERVICE_MODULE\""]
