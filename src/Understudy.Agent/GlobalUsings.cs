// The API's records and the job states (Understudy.Core.Api) are the vocabulary every layer of the agent speaks
// (status views are built in Jobs, Failover, Restore, Target), so they are in scope everywhere, like System.
global using Understudy.Core.Api;
