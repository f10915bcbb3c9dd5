/**
 * Trailing metadata an agent sends with a status when a task failed on the model, not on the
 * replica: the failure's kind (unavailable, timeout, rate_limited, rejected). The orchestrator
 * reads it so model failures never look like load or like a lost replica.
 */
export const MODEL_FAILURE_KEY = "chorus-model-failure";

/**
 * Sent besides MODEL_FAILURE_KEY while the agent's circuit breaker for the model endpoint is open:
 * the endpoint (base URL). Another replica calls the same endpoint, so retrying there cannot help.
 */
export const MODEL_DOWN_KEY = "chorus-model-down";
